//go:build !windows

package main

import "github.com/wapt-go/wapt/tray/menu"

// iconBytes is the tray icon of k: a PNG.
func iconBytes(k menu.Icon) []byte { return menu.IconPNG(k) }
