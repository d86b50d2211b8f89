package resolve

import (
	"strings"
	"testing"

	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/version"
)

// cand builds a candidate of repository "main" (architecture all, section
// base) with extra attributes as key, value pairs.
func cand(name, ver string, kv ...string) Candidate {
	c := control.New()
	c.Set("package", name)
	c.Set("version", ver)
	c.Set("architecture", "all")
	c.Set("section", "base")
	c.Set("priority", "optional")
	repo := "main"
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i] == "repo" {
			repo = kv[i+1]
			continue
		}
		c.Set(kv[i], kv[i+1])
	}
	return Candidate{Repo: repo, Control: c}
}

func requests(tb testing.TB, ss ...string) []version.Request {
	tb.Helper()
	var out []version.Request
	for _, s := range ss {
		r, err := version.ParseRequest(s)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// describe renders a chosen package as "name=version", plus "@repo" when
// the repository is not "main".
func describe(r Resolved) string {
	s := r.Control.Package() + "=" + r.Version.String()
	if r.Repo != "main" {
		s += "@" + r.Repo
	}
	return s
}

func orderOf(res Result) []string {
	var out []string
	for _, r := range res.Order {
		out = append(out, describe(r))
	}
	return out
}

func missingNames(res Result) []string {
	var out []string
	for _, m := range res.Missing {
		out = append(out, m.Request.Name)
	}
	return out
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
