//go:build !windows

package localapi

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Listen listens on the unix socket at path. It creates the parent
// directory (0755) when missing, replaces a stale socket left by a crashed
// agent (but not a socket someone still listens on, nor a file that is not
// a socket), and makes the socket 0666: every local user may connect, and
// authorization is by the caller's identity, not by file mode. The socket
// is removed when the listener is closed.
func Listen(path string) (net.Listener, error) {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("local API: %w", err)
		}
		if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
			return nil, fmt.Errorf("local API: %w", err)
		}
	}
	if err := removeStale(path); err != nil {
		return nil, fmt.Errorf("local API: %w", err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("local API: %w", err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		l.Close()
		return nil, fmt.Errorf("local API: %w", err)
	}
	return l, nil
}

// removeStale removes the socket at path unless something answers on it.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.Mode().Type() != fs.ModeSocket:
		return fmt.Errorf("%s exists and is not a socket", path)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var d net.Dialer
	if c, err := d.DialContext(ctx, "unix", path); err == nil {
		c.Close()
		return fmt.Errorf("%s: another agent is listening", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
