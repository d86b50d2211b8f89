package installer

import (
	"context"
	"regexp"
	"strings"
)

var debName = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?$`)

// uninstallCommand returns the command removing a Debian package, or nil
// when it is not installed.
func uninstallCommand(ctx context.Context, run RunFunc, key string) ([]string, error) {
	if !debName.MatchString(key) {
		return nil, ErrUnsupported
	}
	out, err := run(ctx, "dpkg-query", "-W", "-f=${Status}", key)
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "installed") || strings.Contains(string(out), "not-installed") {
		return nil, nil
	}
	return []string{"dpkg", "--remove", key}, nil
}
