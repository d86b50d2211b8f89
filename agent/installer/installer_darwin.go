package installer

import (
	"context"
	"regexp"
)

var pkgID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]+$`)

// uninstallCommand forgets a pkgutil receipt (macOS packages have no
// uninstaller; the files are removed by the package's uninstall()).
func uninstallCommand(ctx context.Context, run RunFunc, key string) ([]string, error) {
	if !pkgID.MatchString(key) {
		return nil, ErrUnsupported
	}
	if _, err := run(ctx, "pkgutil", "--pkg-info", key); err != nil {
		return nil, nil
	}
	return []string{"pkgutil", "--forget", key}, nil
}
