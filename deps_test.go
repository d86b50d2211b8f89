package wapt_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/wapt-go/wapt"

// pkgInfo is what `go list` tells about one package of the module.
type pkgInfo struct {
	Path    string   // import path
	Imports []string // direct imports
	Deps    []string // transitive dependencies
}

// importRule forbids packages matching From to reach packages matching To.
// Direct rules look at direct imports only; the others at all transitive deps.
type importRule struct {
	Why    string
	From   func(pkg string) bool
	To     func(dep string) bool
	Direct bool
}

func under(prefixes ...string) func(string) bool {
	return func(p string) bool {
		for _, pre := range prefixes {
			if p == pre || strings.HasPrefix(p, pre+"/") {
				return true
			}
		}
		return false
	}
}

func not(f func(string) bool) func(string) bool { return func(p string) bool { return !f(p) } }

func and(fs ...func(string) bool) func(string) bool {
	return func(p string) bool {
		for _, f := range fs {
			if !f(p) {
				return false
			}
		}
		return true
	}
}

// importRules are DESIGN.md §11.
var importRules = []importRule{
	{
		Why:  "shared/ is a pure library: it imports no other top-level folder",
		From: under(module + "/shared"),
		To:   and(under(module), not(under(module+"/shared"))),
	},
	{
		Why:  "shared/ has no UI, router or database driver",
		From: under(module + "/shared"),
		To: under("fyne.io", "github.com/getlantern/systray", "github.com/go-chi",
			"modernc.org/sqlite", "github.com/jackc/pgx", "github.com/miekg/pkcs11", "database/sql"),
	},
	{
		Why:  "Fyne only in console/ and tray/selfservice",
		From: not(under(module+"/console", module+"/tray/selfservice")),
		To:   under("fyne.io"),
	},
	{
		Why:  "systray only in tray/",
		From: not(under(module + "/tray")),
		To:   under("github.com/getlantern/systray"),
	},
	{
		Why:    "the tray reaches the agent only through agent/localclient",
		From:   under(module + "/tray"),
		To:     and(under(module+"/agent"), not(under(module+"/agent/localclient"))),
		Direct: true,
	},
	{
		Why:    "agent and console reach the server only through server/client",
		From:   under(module+"/agent", module+"/console"),
		To:     and(under(module+"/server"), not(under(module+"/server/client"))),
		Direct: true,
	},
}

// violations returns one line per broken rule.
func violations(pkgs []pkgInfo, rules []importRule) []string {
	var out []string
	for _, p := range pkgs {
		for _, r := range rules {
			if !r.From(p.Path) {
				continue
			}
			deps := p.Deps
			if r.Direct {
				deps = p.Imports
			}
			for _, d := range deps {
				if r.To(d) {
					out = append(out, p.Path+" -> "+d+": "+r.Why)
				}
			}
		}
	}
	return out
}

func listPackages(t *testing.T) []pkgInfo {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}}|{{join .Imports \",\"}}|{{join .Deps \",\"}}", "./...")
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkgInfo
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.SplitN(line, "|", 3)
		if len(parts) != 3 {
			t.Fatalf("unexpected go list line %q", line)
		}
		pkgs = append(pkgs, pkgInfo{Path: parts[0], Imports: split(parts[1]), Deps: split(parts[2])})
	}
	return pkgs
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func TestImportRules(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("the go command is needed to check import rules")
	}
	pkgs := listPackages(t)
	if len(pkgs) < 5 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	for _, v := range violations(pkgs, importRules) {
		t.Error(v)
	}
}

func TestImportRulesDetectViolations(t *testing.T) {
	m := module
	tests := []struct {
		name string
		pkg  pkgInfo
		bad  bool
	}{
		{"shared uses stdlib", pkgInfo{Path: m + "/shared/control", Deps: []string{"strings"}}, false},
		{"shared uses shared", pkgInfo{Path: m + "/shared/pkgfile", Deps: []string{m + "/shared/control"}}, false},
		{"shared uses agent", pkgInfo{Path: m + "/shared/pkgfile", Deps: []string{m + "/agent/engine"}}, true},
		{"shared uses chi", pkgInfo{Path: m + "/shared/repoindex", Deps: []string{"github.com/go-chi/chi/v5"}}, true},
		{"shared uses sqlite", pkgInfo{Path: m + "/shared/x", Deps: []string{"modernc.org/sqlite"}}, true},
		{"console uses fyne", pkgInfo{Path: m + "/console/ui", Deps: []string{"fyne.io/fyne/v2"}}, false},
		{"selfservice uses fyne", pkgInfo{Path: m + "/tray/selfservice", Deps: []string{"fyne.io/fyne/v2"}}, false},
		{"tray main uses fyne", pkgInfo{Path: m + "/tray/cmd/wapttray", Deps: []string{"fyne.io/fyne/v2"}}, true},
		{"agent uses fyne", pkgInfo{Path: m + "/agent/engine", Deps: []string{"fyne.io/fyne/v2/widget"}}, true},
		{"tray uses systray", pkgInfo{Path: m + "/tray/menu", Deps: []string{"github.com/getlantern/systray"}}, false},
		{"console uses systray", pkgInfo{Path: m + "/console", Deps: []string{"github.com/getlantern/systray"}}, true},
		{"tray uses localclient", pkgInfo{Path: m + "/tray/menu", Imports: []string{m + "/agent/localclient"}}, false},
		{"tray uses engine", pkgInfo{Path: m + "/tray/menu", Imports: []string{m + "/agent/engine"}}, true},
		{"agent uses server client", pkgInfo{Path: m + "/agent/uplink", Imports: []string{m + "/server/client"}}, false},
		{"agent uses server store", pkgInfo{Path: m + "/agent/uplink", Imports: []string{m + "/server/store"}}, true},
		{"console uses server httpapi", pkgInfo{Path: m + "/console/admin", Imports: []string{m + "/server/httpapi"}}, true},
		{"server uses server", pkgInfo{Path: m + "/server/httpapi", Imports: []string{m + "/server/store"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := violations([]pkgInfo{tt.pkg}, importRules)
			if (len(got) > 0) != tt.bad {
				t.Errorf("violations = %v, want bad=%v", got, tt.bad)
			}
		})
	}
}
