package inventory

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/shirou/gopsutil/v4/host"
)

// collectDMI reads Root/sys/class/dmi/id; serials and the uuid are
// root-only and listed as unreadable otherwise.
func collectDMI(_ context.Context, e *env) (dmiInfo, error) {
	dir := filepath.Join(e.root, "sys", "class", "dmi", "id")
	d, err := readDMI(os.DirFS(dir))
	if err != nil {
		return d, fmt.Errorf("%s: %w", dir, err)
	}
	return d, nil
}

// collectSoftware lists the dpkg and rpm packages.
func collectSoftware(ctx context.Context, e *env) ([]Software, error) {
	return packageSoftware(ctx, e.run)
}

// osName is the os-release PRETTY_NAME.
func osName(e *env, h hostInfo) string {
	if n := osReleaseName(os.DirFS(e.root)); n != "" {
		return n
	}
	return strings.TrimSpace(h.Platform + " " + h.OSVersion)
}

// loggedInUsers reads the utmp sessions.
func loggedInUsers(ctx context.Context) ([]hostUser, error) {
	stats, err := host.UsersWithContext(ctx)
	if err != nil {
		return nil, err
	}
	return usersFromStats(stats), nil
}
