//go:build !windows

package localclient

import (
	"context"
	"net"
)

// dial connects to the agent's unix socket.
func dial(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", path)
}
