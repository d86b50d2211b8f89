package menu

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows/registry"
)

// where names the Run value for messages.
const where = `HKCU\` + RunKeyPath + `\` + RunValueName

// InstallAutostart sets the current user's Run value (RunValue) that
// starts exe with args at login, and returns its name.
func InstallAutostart(exe string, args []string) (string, error) {
	k, _, err := registry.CreateKey(registry.CURRENT_USER, RunKeyPath, registry.SET_VALUE)
	if err != nil {
		return "", fmt.Errorf("install autostart: %w", err)
	}
	defer k.Close()
	if err := k.SetStringValue(RunValueName, RunValue(exe, args)); err != nil {
		return "", fmt.Errorf("install autostart: %s: %w", where, err)
	}
	return where, nil
}

// UninstallAutostart deletes the Run value and returns its name; a
// missing value is not an error.
func UninstallAutostart() (string, error) {
	k, err := registry.OpenKey(registry.CURRENT_USER, RunKeyPath, registry.SET_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return where, nil
	}
	if err != nil {
		return "", fmt.Errorf("uninstall autostart: %w", err)
	}
	defer k.Close()
	if err := k.DeleteValue(RunValueName); err != nil && !errors.Is(err, registry.ErrNotExist) {
		return where, fmt.Errorf("uninstall autostart: %s: %w", where, err)
	}
	return where, nil
}
