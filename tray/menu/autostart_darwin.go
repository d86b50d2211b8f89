package menu

import (
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

// autostartContent is the LaunchAgent (launchd loads it at the next login).
func autostartContent(exe string, args []string) string { return LaunchAgentPlist(exe, args) }
