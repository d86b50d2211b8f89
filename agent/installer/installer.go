// Package installer removes what packages installed through the operating
// system's own installer, from the uninstall keys their install() recorded:
// Debian packages on Linux, uninstall registry keys on Windows, pkgutil
// receipts on macOS. It implements engine.Uninstaller.
package installer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// ErrUnsupported is returned for keys this OS cannot remove.
var ErrUnsupported = errors.New("uninstall key not supported on this system")

// RunFunc runs a command and returns its combined output; tests inject it.
type RunFunc func(ctx context.Context, name string, args ...string) ([]byte, error)

// Installer removes uninstall keys.
type Installer struct {
	Run RunFunc
}

// New returns an Installer running real commands.
func New() *Installer {
	return &Installer{Run: func(ctx context.Context, name string, args ...string) ([]byte, error) {
		return exec.CommandContext(ctx, name, args...).CombinedOutput()
	}}
}

// Uninstall removes every key, continuing after a failure, and returns the
// failures joined.
func (i *Installer) Uninstall(ctx context.Context, keys []string, out io.Writer) error {
	var errs []error
	for _, k := range keys {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		argv, err := uninstallCommand(ctx, i.Run, k)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", k, err))
			continue
		}
		if argv == nil {
			fmt.Fprintf(out, "%s: not installed any more\n", k)
			continue
		}
		b, err := i.Run(ctx, argv[0], argv[1:]...)
		out.Write(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", k, strings.Join(argv, " "), err))
		}
	}
	return errors.Join(errs...)
}
