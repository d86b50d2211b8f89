package localapi

import (
	"errors"
	"fmt"
	"net"

	"golang.org/x/sys/unix"

	"github.com/wapt-go/wapt/shared/wire"
)

// xucredVersion is XUCRED_VERSION of <sys/ucred.h>.
const xucredVersion = 0

// peerCaller reads the peer's credentials with LOCAL_PEERCRED: the
// effective uid and (up to 16) groups of the process when it connected.
func peerCaller(c net.Conn) (wire.LocalCaller, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return wire.LocalCaller{}, fmt.Errorf("not a unix socket connection (%T)", c)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return wire.LocalCaller{}, err
	}
	var cred *unix.Xucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	}); err != nil {
		return wire.LocalCaller{}, err
	}
	if cerr != nil {
		return wire.LocalCaller{}, fmt.Errorf("LOCAL_PEERCRED: %w", cerr)
	}
	if cred == nil || cred.Version != xucredVersion {
		return wire.LocalCaller{}, errors.New("LOCAL_PEERCRED: no credentials")
	}
	n := min(max(int(cred.Ngroups), 0), len(cred.Groups))
	return unixCaller(cred.Uid, cred.Groups[:n], false), nil
}
