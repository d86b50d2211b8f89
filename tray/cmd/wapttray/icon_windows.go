package main

import "github.com/wapt-go/wapt/tray/menu"

// iconBytes is the tray icon of k: Windows wants an ICO.
func iconBytes(k menu.Icon) []byte { return menu.IconICO(k) }
