//go:build !windows && !darwin

package menu

import (
	"errors"
	"fmt"
	"io/fs"
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

// InstallAutostart writes the XDG autostart entry (DesktopEntry) that
// starts exe with args at login, and returns its path.
func InstallAutostart(exe string, args []string) (string, error) {
	path, err := autostartPath()
	if err != nil {
		return "", fmt.Errorf("install autostart: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("install autostart: %w", err)
	}
	if err := os.WriteFile(path, []byte(DesktopEntry(exe, args)), 0o644); err != nil {
		return "", fmt.Errorf("install autostart: %w", err)
	}
	return path, nil
}

// UninstallAutostart removes the XDG autostart entry and returns its path;
// a missing entry is not an error.
func UninstallAutostart() (string, error) {
	path, err := autostartPath()
	if err != nil {
		return "", fmt.Errorf("uninstall autostart: %w", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return path, fmt.Errorf("uninstall autostart: %w", err)
	}
	return path, nil
}
