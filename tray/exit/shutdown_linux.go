package exit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// unitPath is where the systemd unit is written, under c.Root.
func unitPath(c ShutdownConfig) string {
	return filepath.Join(c.Root, "/etc/systemd/system", UnitName)
}

// InstallShutdownHook writes the systemd unit (SystemdUnit), then reloads
// systemd and enables and starts the unit, so that it runs at the next
// shutdown. It returns what it wrote. It needs root.
func InstallShutdownHook(ctx context.Context, c ShutdownConfig) ([]string, error) {
	c = c.withDefaults(true)
	if !filepath.IsAbs(c.Exe) {
		return nil, fmt.Errorf("install shutdown hook: waptexit path %q is not absolute", c.Exe)
	}
	path := unitPath(c)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("install shutdown hook: %w", err)
	}
	if err := os.WriteFile(path, []byte(SystemdUnit(c)), 0o644); err != nil {
		return nil, fmt.Errorf("install shutdown hook: %w", err)
	}
	for _, args := range [][]string{{"daemon-reload"}, {"enable", "--now", UnitName}} {
		if _, err := c.Run(ctx, "systemctl", args...); err != nil {
			return []string{path}, fmt.Errorf("install shutdown hook: %w", err)
		}
	}
	return []string{path}, nil
}

// UninstallShutdownHook disables and removes the systemd unit. The unit
// file is removed and systemd reloaded before the unit is stopped, so
// that stopping it does not run waptexit.
func UninstallShutdownHook(ctx context.Context, c ShutdownConfig) ([]string, error) {
	c = c.withDefaults(true)
	path := unitPath(c)
	// disable fails when the unit is unknown: nothing to undo then.
	_, derr := c.Run(ctx, "systemctl", "disable", UnitName)
	err := os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("uninstall shutdown hook: %w", err)
	}
	if _, err := c.Run(ctx, "systemctl", "daemon-reload"); err != nil {
		return []string{path}, fmt.Errorf("uninstall shutdown hook: %w", err)
	}
	c.Run(ctx, "systemctl", "stop", UnitName) // best effort: it is gone
	if derr != nil {
		return []string{path}, fmt.Errorf("uninstall shutdown hook: %w", derr)
	}
	return []string{path}, nil
}
