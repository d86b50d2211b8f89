package exit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// hookPath is where the logout hook script is written, under c.Root.
func hookPath(c ShutdownConfig) string {
	return filepath.Join(c.Root, "/Library/Application Support/WAPT/waptexit-logout-hook.sh")
}

// InstallShutdownHook writes the logout hook script (LogoutHookScript)
// and registers it as loginwindow's LogoutHook. It refuses, with
// ErrHookInUse, to replace another program's hook. It needs root.
func InstallShutdownHook(ctx context.Context, c ShutdownConfig) ([]string, error) {
	c = c.withDefaults(true)
	if !filepath.IsAbs(c.Exe) {
		return nil, fmt.Errorf("install shutdown hook: waptexit path %q is not absolute", c.Exe)
	}
	path := hookPath(c)
	if cur := currentHook(ctx, c); cur != "" && cur != path {
		return nil, fmt.Errorf("install shutdown hook: %w: %s", ErrHookInUse, cur)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("install shutdown hook: %w", err)
	}
	if err := os.WriteFile(path, []byte(LogoutHookScript(c)), 0o755); err != nil {
		return nil, fmt.Errorf("install shutdown hook: %w", err)
	}
	if err := os.Chmod(path, 0o755); err != nil {
		return nil, fmt.Errorf("install shutdown hook: %w", err)
	}
	if _, err := c.Run(ctx, "defaults", "write", "com.apple.loginwindow", "LogoutHook", path); err != nil {
		return []string{path}, fmt.Errorf("install shutdown hook: %w", err)
	}
	return []string{path, "com.apple.loginwindow LogoutHook"}, nil
}

// UninstallShutdownHook unregisters the logout hook when it is ours and
// removes the script.
func UninstallShutdownHook(ctx context.Context, c ShutdownConfig) ([]string, error) {
	c = c.withDefaults(true)
	path := hookPath(c)
	var done []string
	if currentHook(ctx, c) == path {
		if _, err := c.Run(ctx, "defaults", "delete", "com.apple.loginwindow", "LogoutHook"); err != nil {
			return nil, fmt.Errorf("uninstall shutdown hook: %w", err)
		}
		done = append(done, "com.apple.loginwindow LogoutHook")
	}
	err := os.Remove(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return done, fmt.Errorf("uninstall shutdown hook: %w", err)
	default:
		done = append(done, path)
	}
	return done, nil
}

// currentHook is loginwindow's LogoutHook, "" when none.
func currentHook(ctx context.Context, c ShutdownConfig) string {
	out, err := c.Run(ctx, "defaults", "read", "com.apple.loginwindow", "LogoutHook")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
