package resolve

import (
	"fmt"
	"strings"
	"testing"
)

// benchIndex builds 2,500 names × 4 versions (10,000 entries) and a host
// package depending on 50 of them, each depending on two others.
func benchIndex(tb testing.TB) Input {
	tb.Helper()
	const names, versions = 2500, 4
	index := make([]Candidate, 0, names*versions)
	for n := range names {
		name := fmt.Sprintf("tis-pkg%04d", n)
		for v := 1; v <= versions; v++ {
			var deps string
			if n < 50 {
				deps = fmt.Sprintf("tis-pkg%04d(>=%d),tis-pkg%04d", 100+2*n, v%3+1, 101+2*n)
			}
			maturity := "PROD"
			if v == versions {
				maturity = "BETA"
			}
			index = append(index, cand(name, fmt.Sprintf("%d.%d.0-%d", v, n%7, v), "depends", deps, "maturity", maturity,
				"locale", []string{"", "fr", "en", "all"}[v%4], "target_os", "windows", "architecture", "x64"))
		}
	}
	var deps []string
	for n := range 50 {
		deps = append(deps, fmt.Sprintf("tis-pkg%04d", n))
	}
	host := cand("0b1d-uuid", "3", "section", "host", "depends", strings.Join(deps, ","))
	return Input{
		Index:        index,
		HostPackages: []Candidate{host},
		Host: Host{
			UUID: "0b1d-uuid", OS: "windows", OSVersion: "10.0.19045", Arch: "x64",
			Locales: []string{"fr", "en"}, UseHostPackages: true,
			OUDN: "CN=PC1,OU=room1,OU=prod,DC=example,DC=lan",
		},
	}
}

func BenchmarkResolve50Of10000(b *testing.B) {
	in := benchIndex(b)
	res := Resolve(in)
	if got := len(res.Order); got != 151 || len(res.Missing) != 0 {
		b.Fatalf("resolved %d packages (want 151), missing %v", got, res.Missing)
	}
	b.ReportAllocs()
	for b.Loop() {
		Resolve(in)
	}
}
