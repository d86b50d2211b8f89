package inventory

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// execRunner is the default Options.Runner: it runs name with a 60 s
// timeout and the C locale, keeps at most 64 MiB of stdout and fails beyond
// that. A missing command gives an error wrapping exec.ErrNotFound.
func execRunner(ctx context.Context, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, runTimeoutSecs*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.WaitDelay = 5 * time.Second // do not hang on grandchildren holding the pipes
	stderr := &capped{max: maxStderr}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", name, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", name, err)
	}
	out, rerr := io.ReadAll(io.LimitReader(stdout, maxOutput+1))
	if len(out) > maxOutput {
		cancel()
		_ = cmd.Wait()
		return nil, fmt.Errorf("run %s: output exceeds %d bytes", name, maxOutput)
	}
	werr := cmd.Wait()
	if werr != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("run %s: %w", name, ctx.Err())
		}
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return nil, fmt.Errorf("run %s: %w: %s", name, werr, clean(msg))
		}
		return nil, fmt.Errorf("run %s: %w", name, werr)
	}
	if rerr != nil {
		return nil, fmt.Errorf("run %s: read output: %w", name, rerr)
	}
	return out, nil
}

// capped keeps the first max bytes written to it and drops the rest.
type capped struct {
	max int
	buf []byte
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - len(c.buf); room > 0 {
		c.buf = append(c.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (c *capped) String() string { return string(c.buf) }
