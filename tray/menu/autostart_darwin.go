package menu

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// autostartPath is the current user's LaunchAgent.
func autostartPath() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, "Library", "LaunchAgents", LaunchAgentName+".plist"), nil
}

// InstallAutostart writes the LaunchAgent (LaunchAgentPlist) that starts
// exe with args at login, and returns its path. launchd loads it at the
// next login.
func InstallAutostart(exe string, args []string) (string, error) {
	path, err := autostartPath()
	if err != nil {
		return "", fmt.Errorf("install autostart: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("install autostart: %w", err)
	}
	if err := os.WriteFile(path, []byte(LaunchAgentPlist(exe, args)), 0o644); err != nil {
		return "", fmt.Errorf("install autostart: %w", err)
	}
	return path, nil
}

// UninstallAutostart removes the LaunchAgent and returns its path; a
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
