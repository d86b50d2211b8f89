package ui

import (
	_ "embed"

	"fyne.io/fyne/v2"
)

// iconPNG is a copy of assets/icon.png (go:embed cannot reach outside the
// package's folder; TestIconMatchesAssets keeps the two the same).
//
//go:embed icon.png
var iconPNG []byte

// Icon is the WAPT icon, the console window's icon.
var Icon fyne.Resource = fyne.NewStaticResource("wapt.png", iconPNG)
