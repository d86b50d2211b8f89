//go:build !linux && !darwin && !windows

package localapi

import (
	"fmt"
	"net"
	"runtime"

	"github.com/wapt-go/wapt/shared/wire"
)

// peerCaller cannot identify callers on this OS, so every connection is
// refused.
func peerCaller(net.Conn) (wire.LocalCaller, error) {
	return wire.LocalCaller{}, fmt.Errorf("peer credentials are not supported on %s", runtime.GOOS)
}
