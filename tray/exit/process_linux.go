package exit

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// processNames lists the names of the running processes from /proc: each
// process's comm (cut at 15 bytes by the kernel) and the base name of its
// argv[0].
func processNames(ctx context.Context) ([]string, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var out []string
	for _, e := range ents {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		pid := e.Name()
		if pid == "" || strings.Trim(pid, "0123456789") != "" {
			continue
		}
		// A process may exit between the listing and the reads.
		if b, err := os.ReadFile(filepath.Join("/proc", pid, "comm")); err == nil {
			out = append(out, strings.TrimSpace(string(b)))
		}
		if b, err := os.ReadFile(filepath.Join("/proc", pid, "cmdline")); err == nil && len(b) > 0 {
			if i := bytes.IndexByte(b, 0); i >= 0 {
				b = b[:i]
			}
			out = append(out, filepath.Base(string(b)))
		}
	}
	return out, nil
}
