//go:build !linux && !windows

package exit

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// processNames lists the commands of the running processes with ps.
func processNames(ctx context.Context) ([]string, error) {
	out, err := exec.CommandContext(ctx, "ps", "-axo", "comm=").Output()
	if err != nil {
		return nil, fmt.Errorf("list processes: ps: %w", err)
	}
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			names = append(names, l)
		}
	}
	return names, nil
}
