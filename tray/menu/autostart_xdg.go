//go:build !windows && !darwin

package menu

import (
	"os"
	"path/filepath"
)

// autostartPath is the XDG autostart entry of the current user.
func autostartPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "autostart", DesktopFileName), nil
}

// autostartContent is the XDG autostart desktop entry.
func autostartContent(exe string, args []string) string { return DesktopEntry(exe, args) }
