package selfservice

import (
	_ "embed"

	"fyne.io/fyne/v2"
)

// iconPNG is a copy of assets/icon.png (go:embed cannot reach outside the
// package's folder; a test checks that the two stay the same).
//
//go:embed icon.png
var iconPNG []byte

// Icon is the WAPT icon: the windows' icon, and the icon of a package that
// has none.
var Icon fyne.Resource = fyne.NewStaticResource("wapt.png", iconPNG)
