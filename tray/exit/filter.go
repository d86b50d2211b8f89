package exit

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/wapt-go/wapt/shared/wire"
)

// Meta is what the shutdown policy needs to know of a pending package,
// from its control file.
type Meta struct {
	// Priority is the control's priority ("critical", "optional", ...);
	// empty when unknown.
	Priority string
	// ImpactedProcesses are the process names of impacted_process
	// ("firefox.exe", "firefox").
	ImpactedProcesses []string
}

// PackageMeta is the default Options.Meta: what the local API tells of p.
//
// TODO: wire.LocalPackage has no priority nor impacted_process yet; read
// them here once the local API reports them. Until then every package has
// an unknown priority (so a policy with Priorities installs nothing at
// shutdown) and no impacted process (so OnlyIfNotProcessRunning skips
// nothing).
func PackageMeta(p wire.LocalPackage) Meta { return Meta{} }

// ProcessChecker tells which processes run. SystemProcesses implements it.
type ProcessChecker interface {
	// Running returns those of names that match a running process. A
	// name matches case-insensitively, with or without ".exe".
	Running(ctx context.Context, names []string) ([]string, error)
}

// Skip is a pending package the policy keeps from installing at shutdown.
type Skip struct {
	Package wire.LocalPackage
	Reason  string
}

// Select splits pending into the packages pol lets waptexit install and
// the skipped ones. With pol.Priorities, a package is kept only when its
// priority is listed (an unknown priority is not); with
// pol.OnlyIfNotProcessRunning, a package is skipped while one of its
// impacted processes runs, or when that cannot be checked.
func Select(ctx context.Context, pending []wire.LocalPackage, pol wire.ExitPolicy, meta func(wire.LocalPackage) Meta, procs ProcessChecker) (selected []wire.LocalPackage, skipped []Skip) {
	prios := make([]string, 0, len(pol.Priorities))
	for _, p := range pol.Priorities {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			prios = append(prios, p)
		}
	}
	for _, p := range pending {
		m := meta(p)
		if len(prios) > 0 {
			prio := strings.ToLower(strings.TrimSpace(m.Priority))
			if prio == "" {
				skipped = append(skipped, Skip{p, "priority unknown, upgrade_priorities is " + strings.Join(prios, ",")})
				continue
			}
			if !slices.Contains(prios, prio) {
				skipped = append(skipped, Skip{p, fmt.Sprintf("priority %q not in upgrade_priorities", prio)})
				continue
			}
		}
		if pol.OnlyIfNotProcessRunning && len(m.ImpactedProcesses) > 0 {
			running, err := procs.Running(ctx, m.ImpactedProcesses)
			if err != nil {
				skipped = append(skipped, Skip{p, "cannot check impacted processes: " + err.Error()})
				continue
			}
			if len(running) > 0 {
				skipped = append(skipped, Skip{p, "impacted process running: " + strings.Join(running, ", ")})
				continue
			}
		}
		selected = append(selected, p)
	}
	return selected, skipped
}

// SplitProcesses splits an impacted_process value ("firefox.exe,
// thunderbird") into names.
func SplitProcesses(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// matchProcesses returns those of names that match one of the running
// process names: case-insensitively, ignoring a ".exe" suffix and any
// directory.
func matchProcesses(names, running []string) []string {
	set := make(map[string]bool, len(running))
	for _, r := range running {
		set[processKey(r)] = true
	}
	var out []string
	for _, n := range names {
		if set[processKey(n)] {
			out = append(out, n)
		}
	}
	return out
}

func processKey(name string) string {
	name = strings.TrimSpace(name)
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.ToLower(name)
	return strings.TrimSuffix(name, ".exe")
}
