//go:build !windows

package menu

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// InstallAutostart writes the autostart file (autostartContent: the XDG
// desktop entry, or the macOS LaunchAgent) that starts exe with args at
// login, and returns its path.
func InstallAutostart(exe string, args []string) (string, error) {
	path, err := autostartPath()
	if err != nil {
		return "", fmt.Errorf("install autostart: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("install autostart: %w", err)
	}
	if err := os.WriteFile(path, []byte(autostartContent(exe, args)), 0o644); err != nil {
		return "", fmt.Errorf("install autostart: %w", err)
	}
	return path, nil
}

// UninstallAutostart removes the autostart file and returns its path; a
// missing one is not an error.
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
