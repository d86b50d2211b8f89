package localclient

import (
	"context"
	"net"
	"strings"

	"github.com/Microsoft/go-winio"
)

// pipeAccess is what the client asks of the pipe: FILE_GENERIC_READ and
// FILE_GENERIC_WRITE without FILE_APPEND_DATA, which on a pipe means
// FILE_CREATE_PIPE_INSTANCE. The agent grants ordinary users exactly this,
// so that none of them can create a rogue instance of the agent's pipe;
// a client asking for GENERIC_WRITE is refused.
const pipeAccess = 0x0012019b

// dial connects to the agent's named pipe. It lets the agent identify the
// caller (SECURITY_IDENTIFICATION): the go-winio default is anonymous, and
// the agent refuses anonymous clients.
func dial(ctx context.Context, path string) (net.Conn, error) {
	return winio.DialPipeAccessImpLevel(ctx, pipePath(path), pipeAccess, winio.PipeImpLevelIdentification)
}

// pipePath turns a bare pipe name into \\.\pipe\name.
func pipePath(path string) string {
	if strings.HasPrefix(path, `\\`) {
		return path
	}
	return `\\.\pipe\` + path
}
