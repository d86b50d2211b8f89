package localapi

import (
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/wapt-go/wapt/shared/wire"
)

// connKey is the context key of the connection (an *identConn), set per
// connection by the http.Server's ConnContext.
type connKey struct{}

// identListener wraps each accepted connection in an identConn.
type identListener struct {
	net.Listener
	logf Logf
}

func (l *identListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &identConn{Conn: c, logf: l.logf}, nil
}

// errNoIdentity is returned by the Read of a connection whose caller could
// not be identified.
var errNoIdentity = errors.New("caller identity unavailable")

// identConn reads the OS identity of its peer once, when the first bytes
// arrive (a Windows pipe server can only impersonate its client after
// reading from it), and before the server sees those bytes: when the
// identity cannot be read the connection is closed and no request on it is
// served. The lookups run on the connection's goroutine, not on the accept
// loop.
type identConn struct {
	net.Conn
	logf Logf

	once   sync.Once
	caller wire.LocalCaller
	err    error
}

func (c *identConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		if _, ierr := c.Caller(); ierr != nil {
			c.Conn.Close()
			return 0, ierr
		}
	}
	return n, err
}

// Caller returns the peer's identity, reading it on the first call.
func (c *identConn) Caller() (wire.LocalCaller, error) {
	c.once.Do(func() {
		c.caller, c.err = peerCaller(c.Conn)
		if c.err != nil {
			c.logf("localapi: refused a connection: %v", c.err)
			c.err = fmt.Errorf("%w: %w", errNoIdentity, c.err)
		}
	})
	return c.caller, c.err
}

// CloseWrite lets the http.Server half-close the connection when it can.
func (c *identConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
