package localapi

import (
	"fmt"
	"net"
	"strings"

	"github.com/Microsoft/go-winio"
)

// pipeSDDL is the security descriptor of the pipe: SYSTEM and
// Administrators have full control; Authenticated Users may read and write
// (FILE_GENERIC_READ | FILE_GENERIC_WRITE without FILE_APPEND_DATA, which
// on a pipe is FILE_CREATE_PIPE_INSTANCE, so that no user can create a
// rogue instance of the agent's pipe); nobody else may open it. The DACL is
// protected (no inheritance). Remote clients are rejected by go-winio
// (PIPE_REJECT_REMOTE_CLIENTS).
const pipeSDDL = "D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;0x12019b;;;AU)"

// Listen listens on the named pipe path (\\.\pipe\name; a bare name gets
// that prefix), with a security descriptor that lets every authenticated
// local user connect: authorization is by the caller's identity. It fails
// when the pipe exists, that is when another agent listens.
func Listen(path string) (net.Listener, error) {
	if !strings.HasPrefix(path, `\\`) {
		path = `\\.\pipe\` + path
	}
	l, err := winio.ListenPipe(path, &winio.PipeConfig{
		SecurityDescriptor: pipeSDDL,
		InputBufferSize:    64 << 10,
		OutputBufferSize:   64 << 10,
	})
	if err != nil {
		return nil, fmt.Errorf("local API: listen %s: %w", path, err)
	}
	return l, nil
}
