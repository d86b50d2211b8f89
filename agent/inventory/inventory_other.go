//go:build !linux && !windows && !darwin

package inventory

import (
	"context"

	"github.com/shirou/gopsutil/v4/host"
)

func collectDMI(context.Context, *env) (dmiInfo, error) { return dmiInfo{}, errUnsupported }

func collectSoftware(context.Context, *env) ([]Software, error) { return nil, errUnsupported }

func osName(_ *env, h hostInfo) string { return h.Platform }

func loggedInUsers(ctx context.Context) ([]hostUser, error) {
	stats, err := host.UsersWithContext(ctx)
	if err != nil {
		return nil, err
	}
	return usersFromStats(stats), nil
}
