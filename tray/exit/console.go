package exit

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/wapt-go/wapt/shared/wire"
)

// Console is the text UI of waptexit (--console, and the fallback without
// a display): the countdown and the progress are lines on Out, and a line
// on In answers the countdown ("p" postpones when allowed, an empty line
// or "i" installs now). An In that ends (/dev/null under systemd) just
// lets the countdown run out.
type Console struct {
	in  io.Reader
	out io.Writer
	// second is one countdown step; tests shorten it.
	second time.Duration

	once  sync.Once
	lines chan string // lines of in; closed at its end

	mu       sync.Mutex // guards out and last
	last     wire.LocalTask
	lastSeen bool
}

var _ UI = (*Console)(nil)

// NewConsole returns a console UI reading answers from in (nil: none) and
// writing to out.
func NewConsole(in io.Reader, out io.Writer) *Console {
	return &Console{in: in, out: out, second: time.Second}
}

// readLines starts the reader of in, once. It cannot be stopped (a read
// of a terminal does not end on cancel); it ends with in.
func (c *Console) readLines() <-chan string {
	c.once.Do(func() {
		c.lines = make(chan string)
		if c.in == nil {
			close(c.lines)
			return
		}
		go func() {
			defer close(c.lines)
			sc := bufio.NewScanner(c.in)
			for sc.Scan() {
				c.lines <- strings.TrimSpace(sc.Text())
			}
		}()
	})
	return c.lines
}

func (c *Console) printf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.out, format, args...)
}

// Countdown prints the packages and one line per remaining second.
func (c *Console) Countdown(ctx context.Context, seconds int, pkgs []wire.LocalPackage, allowCancel bool) Choice {
	var b strings.Builder
	fmt.Fprintf(&b, "WAPT: %d pending upgrade(s) will be installed before shutdown:\n", len(pkgs))
	for _, p := range pkgs {
		fmt.Fprintf(&b, "  %s\n", PackageLine(p))
	}
	if allowCancel {
		b.WriteString("Type p then Enter to postpone, Enter to install now.\n")
	} else {
		b.WriteString("Press Enter to install now.\n")
	}
	c.printf("%s", b.String())

	lines := c.readLines()
	tick := time.NewTicker(c.second)
	defer tick.Stop()
	for left := seconds; left > 0; {
		c.printf("Installing in %d s...\n", left)
		select {
		case <-ctx.Done():
			return Timeout
		case <-tick.C:
			left--
		case l, ok := <-lines:
			if !ok {
				lines = nil // no more input: let the count run out
				continue
			}
			switch strings.ToLower(l) {
			case "", "i", "install":
				c.printf("Installing now.\n")
				return InstallNow
			case "p", "postpone":
				if allowCancel {
					c.printf("Postponed.\n")
					return Postpone
				}
				c.printf("Postponing is not allowed on this computer.\n")
			}
		}
	}
	return Timeout
}

// Progress prints one line per change of state, progress or message.
func (c *Console) Progress(t wire.LocalTask) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lastSeen && c.last.ID == t.ID && c.last.State == t.State && c.last.Progress == t.Progress && c.last.Message == t.Message {
		return
	}
	c.last, c.lastSeen = t, true
	line := fmt.Sprintf("[%3d%%] %s %s", t.Progress, t.Kind, t.State)
	if t.Message != "" {
		line += ": " + t.Message
	}
	fmt.Fprintln(c.out, line)
}

// Done prints the outcome.
func (c *Console) Done(msg string, err error) {
	if err != nil {
		c.printf("%s\nError: %v\n", msg, err)
		return
	}
	c.printf("%s\n", msg)
}

// PackageLine is one pending package for the user: "firefox 120.0 → 121.0".
func PackageLine(p wire.LocalPackage) string {
	switch {
	case p.Version == "":
		return p.Package + " (remove)"
	case p.InstalledVersion == "":
		return p.Package + " " + p.Version + " (new)"
	}
	return p.Package + " " + p.InstalledVersion + " → " + p.Version
}
