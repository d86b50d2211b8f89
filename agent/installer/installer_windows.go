package installer

import (
	"context"
	"regexp"
)

var msiProductCode = regexp.MustCompile(`^\{[0-9A-Fa-f-]{36}\}$`)

// uninstallCommand returns the command removing an MSI product; other
// uninstall keys need the registry's UninstallString (to come with the
// Windows setuphelpers).
func uninstallCommand(_ context.Context, _ RunFunc, key string) ([]string, error) {
	if msiProductCode.MatchString(key) {
		return MsiUninstallCommand(key), nil
	}
	return nil, ErrUnsupported
}
