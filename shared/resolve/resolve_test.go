package resolve

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wapt-go/wapt/shared/version"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	linux := Host{OS: "linux", OSVersion: "12", Arch: "x64", Locales: []string{"fr", "en"}}
	tests := []struct {
		name      string
		index     []Candidate
		hostPkgs  []Candidate
		host      Host
		req       []string
		want      []string // Order, described
		missing   []string // Missing request names
		cycles    [][]string
		conflicts []Conflict
		check     func(t *testing.T, res Result)
	}{
		{
			name:  "newest wins",
			index: []Candidate{cand("a", "1.0-1"), cand("a", "2.0-1"), cand("a", "1.10-3"), cand("a", "1.9-9")},
			req:   []string{"a"},
			want:  []string{"a=2.0-1"},
		},
		{
			name:  "packaging breaks a version tie",
			index: []Candidate{cand("a", "2.0-1"), cand("a", "2.0-10"), cand("a", "2.0-2")},
			req:   []string{"a"},
			want:  []string{"a=2.0-10"},
		},
		{
			name:  "pin selects an older version",
			index: []Candidate{cand("a", "1.0-1"), cand("a", "1.2-1"), cand("a", "1.2-3"), cand("a", "2.0-1")},
			req:   []string{"a(=1.2)"},
			want:  []string{"a=1.2-3"},
		},
		{
			name:  "pin with packaging",
			index: []Candidate{cand("a", "1.2-1"), cand("a", "1.2-3"), cand("a", "2.0-1")},
			req:   []string{"a(=1.2-1)"},
			want:  []string{"a=1.2-1"},
		},
		{
			name:  "pin in depends",
			index: []Candidate{cand("x", "1", "depends", "a(=1.0)"), cand("a", "1.0-1"), cand("a", "2.0-1")},
			req:   []string{"x"},
			want:  []string{"a=1.0-1", "x=1"},
		},
		{
			name:  "names are case-insensitive",
			index: []Candidate{cand("Tis-A", "1.0-1"), cand("x", "1", "depends", "TIS-a")},
			req:   []string{"x", "tis-a"},
			want:  []string{"Tis-A=1.0-1", "x=1"},
		},
		{
			name: "several requests on one name: newest satisfying all",
			index: []Candidate{
				cand("x", "1", "depends", "a(>=1.2)"), cand("y", "1", "depends", "a(<2)"),
				cand("a", "1.0"), cand("a", "1.5"), cand("a", "1.8"), cand("a", "2.0"),
			},
			req:  []string{"x", "y"},
			want: []string{"a=1.8", "x=1", "y=1"},
			check: func(t *testing.T, res Result) {
				if got := res.Order[0].RequiredBy; !slices.Equal(got, []string{"x", "y"}) {
					t.Errorf("a RequiredBy = %v, want [x y]", got)
				}
			},
		},
		{
			name: "root request and depends combine",
			index: []Candidate{
				cand("x", "1", "depends", "a(<2)"), cand("a", "1.0"), cand("a", "1.5"), cand("a", "2.0"),
			},
			req:  []string{"a(>=1.1)", "x"},
			want: []string{"a=1.5", "x=1"},
		},
		{
			name: "several requests on one name: none satisfies all",
			index: []Candidate{
				cand("x", "1", "depends", "a(>=2)"), cand("y", "1", "depends", "a(<1.5)"),
				cand("a", "1.0"), cand("a", "1.5"), cand("a", "2.0"),
			},
			req:     []string{"x", "y"},
			want:    []string{"x=1", "y=1"},
			missing: []string{"a"},
			check: func(t *testing.T, res Result) {
				m := res.Missing[0]
				if m.RequiredBy != "x, y" || m.Request.String() != "a" {
					t.Errorf("Missing = %+v, want a required by x, y", m)
				}
				if !containsAll(m.Reason, "a(>=2) (from x)", "a(<1.5) (from y)", "available: 2.0, 1.5, 1.0") {
					t.Errorf("Reason = %q", m.Reason)
				}
			},
		},
		{
			name: "a changed choice withdraws its depends",
			index: []Candidate{
				cand("x", "1", "depends", "a,b"), cand("b", "1", "depends", "a(<2)"),
				cand("a", "2.0", "depends", "d(>=5)"), cand("a", "1.0", "depends", "e"),
				cand("d", "4"), cand("e", "1"),
			},
			req:  []string{"x"},
			want: []string{"e=1", "a=1.0", "b=1", "x=1"},
		},
		{
			name: "a package no longer required is dropped",
			index: []Candidate{
				cand("x", "1", "depends", "a,b"), cand("b", "1", "depends", "a(<2)"),
				cand("a", "2.0", "depends", "only-for-a2"), cand("a", "1.0"),
				cand("only-for-a2", "1"),
			},
			req:  []string{"x"},
			want: []string{"a=1.0", "b=1", "x=1"},
		},
		{
			name:  "maturity: PROD only by default, empty is PROD",
			index: []Candidate{cand("a", "3.0", "maturity", "BETA"), cand("a", "2.0", "maturity", "PROD"), cand("a", "1.0")},
			req:   []string{"a"},
			want:  []string{"a=2.0"},
			check: func(t *testing.T, res Result) {
				if got := res.Rejected["a"]; !slices.Equal(got, []string{"3.0: maturity BETA not accepted (PROD)"}) {
					t.Errorf("Rejected[a] = %q", got)
				}
			},
		},
		{
			name:  "maturity: accepted list, newest wins",
			index: []Candidate{cand("a", "3.0", "maturity", "BETA"), cand("a", "2.0")},
			host:  Host{Maturities: []string{"PROD", "beta"}},
			req:   []string{"a"},
			want:  []string{"a=3.0"},
		},
		{
			name: "maturity preference breaks a version tie",
			index: []Candidate{
				cand("a", "2.0", "repo", "prod"),
				cand("a", "2.0", "maturity", "BETA", "repo", "beta"),
			},
			host: Host{Maturities: []string{"BETA", "PROD"}},
			req:  []string{"a"},
			want: []string{"a=2.0@beta"},
		},
		{
			name: "locale: host preference breaks a version tie",
			index: []Candidate{
				cand("a", "2.0", "locale", "all", "repo", "all"),
				cand("a", "2.0", "locale", "fr", "repo", "fr"),
				cand("a", "2.0", "locale", "en", "repo", "en"),
				cand("a", "1.0", "locale", "de", "repo", "de"),
			},
			host: Host{Locales: []string{"en", "fr"}},
			req:  []string{"a"},
			want: []string{"a=2.0@en"},
		},
		{
			name: "locale: a generic package when no preferred locale",
			index: []Candidate{
				cand("a", "2.0", "locale", "fr", "repo", "fr"),
				cand("a", "2.0", "repo", "generic"),
			},
			host: Host{Locales: []string{"de"}},
			req:  []string{"a"},
			want: []string{"a=2.0@generic"},
		},
		{
			name: "locale: newer version beats locale preference",
			index: []Candidate{
				cand("a", "2.0", "locale", "fr", "repo", "fr"),
				cand("a", "2.1", "locale", "en", "repo", "en"),
			},
			host: Host{Locales: []string{"fr", "en"}},
			req:  []string{"a"},
			want: []string{"a=2.1@en"},
		},
		{
			name:    "locale filter",
			index:   []Candidate{cand("a", "2.0", "locale", "fr")},
			host:    Host{Locales: []string{"en"}},
			req:     []string{"a"},
			missing: []string{"a"},
			check: func(t *testing.T, res Result) {
				if r := res.Missing[0].Reason; !containsAll(r, "no candidate suits this host", "locale fr not in en") {
					t.Errorf("Reason = %q", r)
				}
			},
		},
		{
			name: "target_os filter and aliases",
			index: []Candidate{
				cand("a", "3.0", "target_os", "windows"), cand("a", "2.0", "target_os", "debian_based"),
				cand("b", "2.0", "target_os", "darwin,macos"), cand("b", "1.0", "target_os", "unix"),
				cand("c", "1.0", "target_os", "all"),
			},
			host: linux,
			req:  []string{"a", "b", "c"},
			want: []string{"a=2.0", "b=1.0", "c=1.0"},
		},
		{
			name: "min and max os version",
			index: []Candidate{
				cand("a", "3.0", "min_os_version", "13"), cand("a", "2.0", "min_os_version", "11", "max_os_version", "12.9"),
				cand("b", "2.0", "max_os_version", "11"), cand("b", "1.0"),
			},
			host: linux,
			req:  []string{"a", "b"},
			want: []string{"a=2.0", "b=1.0"},
		},
		{
			name: "architecture: x86 on x64, native preferred",
			index: []Candidate{
				cand("a", "2.0", "architecture", "x86", "repo", "x86"), cand("a", "2.0", "architecture", "x64", "repo", "x64"),
				cand("b", "2.0", "architecture", "x86"), cand("b", "1.0", "architecture", "amd64"),
				cand("c", "3.0", "architecture", "arm64"), cand("c", "2.0", "architecture", "all"),
			},
			host: linux,
			req:  []string{"a", "b", "c"},
			want: []string{"a=2.0@x64", "b=2.0", "c=2.0"},
		},
		{
			name:    "architecture: x64 not on x86",
			index:   []Candidate{cand("a", "2.0", "architecture", "x64")},
			host:    Host{Arch: "x86"},
			req:     []string{"a"},
			missing: []string{"a"},
		},
		{
			name: "later signature_date breaks a full tie",
			index: []Candidate{
				cand("a", "2.0", "signature_date", "2024-01-01T10:00:00", "repo", "old"),
				cand("a", "2.0", "signature_date", "2024-03-01T10:00:00", "repo", "new"),
				cand("a", "2.0", "signature_date", "2024-02-01T10:00:00", "repo", "mid"),
			},
			req:  []string{"a"},
			want: []string{"a=2.0@new"},
		},
		{
			name: "unparsable candidates are set aside",
			index: []Candidate{
				cand("a", "3.0 beta"), cand("a", "2.5", "depends", "b(>>1)"), cand("a", "2.0"),
			},
			req:  []string{"a"},
			want: []string{"a=2.0"},
			check: func(t *testing.T, res Result) {
				if len(res.Rejected["a"]) != 2 {
					t.Errorf("Rejected[a] = %q, want 2 reasons", res.Rejected["a"])
				}
			},
		},
		{
			name: "implicit host, unit and profile roots",
			index: []Candidate{
				cand("OU=room1,OU=prod,DC=example,DC=lan", "3", "section", "unit", "depends", "b"),
				cand("DC=example,DC=lan", "1", "section", "unit", "depends", "c"),
				cand("OU=prod_DC=example_DC=lan", "2", "section", "unit"), // WAPT 2 spelling
				cand("compta", "5", "section", "profile", "depends", "d"),
				cand("a", "1"), cand("b", "1"), cand("c", "1"), cand("d", "1"),
			},
			hostPkgs: []Candidate{cand("0b1d-uuid", "7", "section", "host", "depends", "a")},
			host: Host{
				UUID: "0B1D-UUID", FQDN: "pc1.example.lan", UseHostPackages: true,
				OUDN:     "CN=PC1,OU=room1,OU=prod,DC=example,DC=lan",
				Profiles: []string{"compta", "no-such-profile"},
			},
			want: []string{
				"a=1", "0b1d-uuid=7", "b=1", "OU=room1,OU=prod,DC=example,DC=lan=3",
				"OU=prod_DC=example_DC=lan=2", "c=1", "DC=example,DC=lan=1", "d=1", "compta=5",
			},
			check: func(t *testing.T, res Result) {
				want := map[string]string{
					"0b1d-uuid": "host", "OU=room1,OU=prod,DC=example,DC=lan": "unit",
					"OU=prod_DC=example_DC=lan": "unit", "DC=example,DC=lan": "unit", "compta": "profile",
				}
				for _, r := range res.Order {
					if got := r.Implicit; got != want[r.Control.Package()] {
						t.Errorf("%s: Implicit = %q, want %q", r.Control.Package(), got, want[r.Control.Package()])
					}
				}
			},
		},
		{
			name:     "implicit roots off without UseHostPackages",
			index:    []Candidate{cand("compta", "5", "section", "profile")},
			hostPkgs: []Candidate{cand("uuid", "7", "section", "host")},
			host:     Host{UUID: "uuid", Profiles: []string{"compta"}},
		},
		{
			name: "implicit roots: filtered or not host/unit/profile are skipped",
			index: []Candidate{
				cand("firefox", "1"),
				cand("OU=prod,DC=lan", "1", "section", "unit", "maturity", "BETA"),
			},
			host: Host{UseHostPackages: true, Profiles: []string{"firefox"}, OUDN: "CN=h,OU=prod,DC=lan"},
			check: func(t *testing.T, res Result) {
				if !containsAll(strings.Join(res.Rejected["firefox"], ";"), "section base") {
					t.Errorf("Rejected[firefox] = %q", res.Rejected["firefox"])
				}
				if !containsAll(strings.Join(res.Rejected["ou=prod,dc=lan"], ";"), "maturity BETA") {
					t.Errorf("Rejected[ou=prod,dc=lan] = %q", res.Rejected["ou=prod,dc=lan"])
				}
			},
		},
		{
			name:     "host package named by FQDN",
			hostPkgs: []Candidate{cand("pc1.example.lan", "2", "section", "host")},
			host:     Host{UUID: "uuid", FQDN: "PC1.example.lan", UseHostPackages: true},
			want:     []string{"pc1.example.lan=2"},
		},
		{
			name: "cycle reported once, ordered, not looped",
			index: []Candidate{
				cand("x", "1", "depends", "b"),
				cand("a", "1", "depends", "b"), cand("b", "1", "depends", "c"), cand("c", "1", "depends", "a,z"),
				cand("z", "1"),
			},
			req:    []string{"x", "a"},
			want:   []string{"a=1", "z=1", "c=1", "b=1", "x=1"},
			cycles: [][]string{{"a", "b", "c"}},
		},
		{
			name:   "self dependency",
			index:  []Candidate{cand("a", "1", "depends", "a")},
			req:    []string{"a"},
			want:   []string{"a=1"},
			cycles: [][]string{{"a"}},
		},
		{
			name: "two cycles",
			index: []Candidate{
				cand("r", "1", "depends", "a,p"),
				cand("a", "1", "depends", "b"), cand("b", "1", "depends", "a"),
				cand("p", "1", "depends", "q"), cand("q", "1", "depends", "p"),
			},
			req:    []string{"r"},
			want:   []string{"b=1", "a=1", "q=1", "p=1", "r=1"},
			cycles: [][]string{{"a", "b"}, {"p", "q"}},
		},
		{
			name:    "missing dependency names its requester",
			index:   []Candidate{cand("x", "1", "depends", "ghost(>=2),beta-only"), cand("beta-only", "1", "maturity", "BETA")},
			req:     []string{"x", "nowhere"},
			want:    []string{"x=1"},
			missing: []string{"nowhere", "ghost", "beta-only"},
			check: func(t *testing.T, res Result) {
				got := map[string]Missing{}
				for _, m := range res.Missing {
					got[m.Request.Name] = m
				}
				if m := got["nowhere"]; m.RequiredBy != "" || m.Reason != "not in any repository" {
					t.Errorf("nowhere: %+v", m)
				}
				if m := got["ghost"]; m.RequiredBy != "x" || m.Request.String() != "ghost(>=2)" {
					t.Errorf("ghost: %+v", m)
				}
				if m := got["beta-only"]; m.RequiredBy != "x" || !containsAll(m.Reason, "1: maturity BETA not accepted") {
					t.Errorf("beta-only: %+v", m)
				}
			},
		},
		{
			name:    "version not available",
			index:   []Candidate{cand("a", "1.0-1"), cand("a", "1.1-1", "maturity", "DEV")},
			req:     []string{"a(>=1.1)"},
			missing: []string{"a"},
			check: func(t *testing.T, res Result) {
				if r := res.Missing[0].Reason; !containsAll(r, "no version matches a(>=1.1)", "available: 1.0-1", "1.1-1: maturity DEV") {
					t.Errorf("Reason = %q", r)
				}
			},
		},
		{
			name: "conflicts between chosen packages",
			index: []Candidate{
				cand("x", "1", "conflicts", "y,w(<1)"), cand("y", "1"), cand("w", "2"),
				cand("z", "1", "conflicts", "unrelated"),
			},
			req:       []string{"x", "y", "w", "z"},
			want:      []string{"x=1", "y=1", "w=2", "z=1"},
			conflicts: []Conflict{{Package: "x", ConflictsWith: "y"}},
		},
		{
			name:  "deterministic order: depends order, dependencies first",
			index: []Candidate{cand("r", "1", "depends", "m,c,k"), cand("m", "1", "depends", "c"), cand("c", "1"), cand("k", "1", "depends", "m")},
			req:   []string{"r"},
			want:  []string{"c=1", "m=1", "k=1", "r=1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := Input{Index: tt.index, HostPackages: tt.hostPkgs, Host: tt.host, Requests: requests(t, tt.req...)}
			res := Resolve(in)
			if got := orderOf(res); !slices.Equal(got, tt.want) {
				t.Errorf("Order = %q, want %q", got, tt.want)
			}
			if got := missingNames(res); !slices.Equal(got, tt.missing) {
				t.Errorf("Missing = %+v, want names %q", res.Missing, tt.missing)
			}
			if !slices.EqualFunc(res.Cycles, tt.cycles, slices.Equal) {
				t.Errorf("Cycles = %q, want %q", res.Cycles, tt.cycles)
			}
			if !slices.Equal(res.Conflicts, tt.conflicts) {
				t.Errorf("Conflicts = %+v, want %+v", res.Conflicts, tt.conflicts)
			}
			assertConsistent(t, res, in.Requests...)
			if tt.check != nil {
				tt.check(t, res)
			}
		})
	}
}

// TestResolveDeterministic shuffles the index and the map-building order:
// the result must not change.
func TestResolveDeterministic(t *testing.T) {
	t.Parallel()
	var index []Candidate
	for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
		index = append(index, cand(n, "1", "depends", "f"), cand(n, "2", "depends", "a,b,c,d,e"))
	}
	index = append(index, cand("f", "3", "depends", "a(<2)"))
	in := Input{Index: index, Requests: requests(t, "e", "c")}
	first := Resolve(in)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		rng.Shuffle(len(in.Index), func(i, j int) { in.Index[i], in.Index[j] = in.Index[j], in.Index[i] })
		res := Resolve(in)
		if !slices.Equal(orderOf(res), orderOf(first)) || !slices.EqualFunc(res.Cycles, first.Cycles, slices.Equal) ||
			!slices.Equal(missingNames(res), missingNames(first)) {
			t.Fatalf("result changed with index order:\n%q %q\n%q %q", orderOf(res), res.Cycles, orderOf(first), first.Cycles)
		}
	}
}

// TestResolveOscillation feeds depends whose choices undo each other; the
// resolution must stop with every chosen package's depends satisfied.
func TestResolveOscillation(t *testing.T) {
	t.Parallel()
	index := []Candidate{
		cand("x", "2", "depends", "y(=1)"), cand("x", "1", "depends", "y(=2)"),
		cand("y", "1", "depends", "x(=1)"), cand("y", "2"),
	}
	res := Resolve(Input{Index: index, Requests: requests(t, "x")})
	assertConsistent(t, res)
	if got, want := orderOf(res), []string{"y=2", "x=1"}; !slices.Equal(got, want) {
		t.Errorf("Order = %q, want %q", got, want)
	}
}

// assertConsistent checks that every depends of a chosen package is
// satisfied by a chosen package or reported in Missing.
func assertConsistent(tb testing.TB, res Result, roots ...version.Request) {
	tb.Helper()
	chosen := map[string]Resolved{}
	for _, r := range res.Order {
		chosen[strings.ToLower(r.Control.Package())] = r
	}
	missing := map[string]bool{}
	for _, m := range res.Missing {
		missing[strings.ToLower(m.Request.Name)] = true
	}
	for _, d := range roots {
		c, ok := chosen[strings.ToLower(d.Name)]
		if !missing[strings.ToLower(d.Name)] && (!ok || !d.Matches(c.Control.Package(), c.Version)) {
			tb.Errorf("request %s: chosen %v, not reported missing", d, c.Version)
		}
	}
	for _, r := range res.Order {
		deps, err := r.Control.Depends()
		if err != nil {
			tb.Fatal(err)
		}
		for _, d := range deps {
			c, ok := chosen[strings.ToLower(d.Name)]
			if missing[strings.ToLower(d.Name)] {
				continue
			}
			if !ok || !d.Matches(c.Control.Package(), c.Version) {
				tb.Errorf("%s depends %s: chosen %v, not reported missing", r.Control.Package(), d, c.Version)
			}
		}
	}
}

// TestResolveRandom resolves random indexes: the result must be consistent
// and the same when resolved twice.
func TestResolveRandom(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 11))
	ops := []string{"", "(>=2)", "(<3)", "(=2)", "(>1)", "(<=1)"}
	for iter := range 300 {
		names := 3 + rng.IntN(8)
		var index []Candidate
		for n := range names {
			for v := 1; v <= 1+rng.IntN(4); v++ {
				var deps []string
				for range rng.IntN(3) {
					deps = append(deps, string(rune('a'+rng.IntN(names+1)))+ops[rng.IntN(len(ops))])
				}
				index = append(index, cand(string(rune('a'+n)), strconv.Itoa(v), "depends", strings.Join(deps, ",")))
			}
		}
		in := Input{Index: index, Requests: requests(t, "a", string(rune('a'+rng.IntN(names)))+ops[rng.IntN(len(ops))])}
		res := Resolve(in)
		assertConsistent(t, res, in.Requests...)
		if again := Resolve(in); !slices.Equal(orderOf(again), orderOf(res)) {
			t.Fatalf("iteration %d: not deterministic", iter)
		}
		if t.Failed() {
			t.Fatalf("iteration %d: index %v", iter, index)
		}
	}
}
