package inventory

import (
	"context"
	"os"

	"github.com/shirou/gopsutil/v4/host"
)

// collectDMI reads the platform expert device through ioreg.
func collectDMI(ctx context.Context, e *env) (dmiInfo, error) {
	return ioregDMI(ctx, e.run)
}

// collectSoftware lists the application bundles and pkgutil receipts.
func collectSoftware(ctx context.Context, e *env) ([]Software, error) {
	return macSoftware(ctx, os.DirFS(e.root), e.root, e.run)
}

// osName is "macOS <version>".
func osName(_ *env, h hostInfo) string {
	if h.OSVersion != "" {
		return "macOS " + h.OSVersion
	}
	return "macOS"
}

// loggedInUsers reads the utmpx sessions.
func loggedInUsers(ctx context.Context) ([]hostUser, error) {
	stats, err := host.UsersWithContext(ctx)
	if err != nil {
		return nil, err
	}
	return usersFromStats(stats), nil
}
