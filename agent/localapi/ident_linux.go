package localapi

import (
	"errors"
	"fmt"
	"net"

	"golang.org/x/sys/unix"

	"github.com/wapt-go/wapt/shared/wire"
)

// peerCaller reads the peer's credentials with SO_PEERCRED: the uid and
// primary gid of the process when it connected. The kernel does not give
// the supplementary groups here, so the user's groups come from os/user
// (/etc/group when built without cgo).
func peerCaller(c net.Conn) (wire.LocalCaller, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return wire.LocalCaller{}, fmt.Errorf("not a unix socket connection (%T)", c)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return wire.LocalCaller{}, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return wire.LocalCaller{}, err
	}
	if cerr != nil {
		return wire.LocalCaller{}, fmt.Errorf("SO_PEERCRED: %w", cerr)
	}
	if cred == nil {
		return wire.LocalCaller{}, errors.New("SO_PEERCRED: no credentials")
	}
	return unixCaller(cred.Uid, []uint32{cred.Gid}, true), nil
}
