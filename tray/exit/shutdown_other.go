//go:build !linux && !darwin && !windows

package exit

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

// errUnsupported means this OS has no shutdown integration.
var errUnsupported = errors.New("no shutdown integration on this OS")

// InstallShutdownHook is not supported on this OS.
func InstallShutdownHook(ctx context.Context, c ShutdownConfig) ([]string, error) {
	return nil, fmt.Errorf("install shutdown hook: %w (%s)", errUnsupported, runtime.GOOS)
}

// UninstallShutdownHook is not supported on this OS.
func UninstallShutdownHook(ctx context.Context, c ShutdownConfig) ([]string, error) {
	return nil, fmt.Errorf("uninstall shutdown hook: %w (%s)", errUnsupported, runtime.GOOS)
}
