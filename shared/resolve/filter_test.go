package resolve

import (
	"errors"
	"strings"
	"testing"
)

func TestAccept(t *testing.T) {
	t.Parallel()
	win := Host{OS: "windows", OSVersion: "10.0.19045", Arch: "x64", Locales: []string{"fr", "en"}}
	tests := []struct {
		name   string
		host   Host
		kv     []string
		reason string // "" = accepted, else a substring of the reason
	}{
		{"plain", win, nil, ""},
		{"empty maturity is PROD", Host{Maturities: []string{"prod"}}, []string{"maturity", ""}, ""},
		{"maturity not accepted", win, []string{"maturity", "BETA"}, "maturity BETA not accepted (PROD)"},
		{"maturity accepted", Host{Maturities: []string{"PROD", "BETA"}}, []string{"maturity", "beta"}, ""},
		{"PROD refused when not listed", Host{Maturities: []string{"BETA"}}, nil, "maturity PROD not accepted (BETA)"},
		{"locale all", win, []string{"locale", "all"}, ""},
		{"locale listed", win, []string{"locale", "EN"}, ""},
		{"locale list", win, []string{"locale", "de,en"}, ""},
		{"locale other", win, []string{"locale", "de"}, "locale de not in fr,en"},
		{"any locale when host has none", Host{}, []string{"locale", "de"}, ""},
		{"target_os all", win, []string{"target_os", "all"}, ""},
		{"target_os windows", win, []string{"target_os", "Windows"}, ""},
		{"target_os win alias", win, []string{"target_os", "win"}, ""},
		{"target_os list", win, []string{"target_os", "linux, windows"}, ""},
		{"target_os other", win, []string{"target_os", "linux"}, "target_os linux does not include windows"},
		{"target_os unix not windows", win, []string{"target_os", "unix"}, "target_os"},
		{"redhat_based on linux", Host{OS: "linux"}, []string{"target_os", "redhat_based"}, ""},
		{"ubuntu on linux", Host{OS: "linux"}, []string{"target_os", "ubuntu"}, ""},
		{"unix on linux", Host{OS: "linux"}, []string{"target_os", "unix"}, ""},
		{"macos on darwin", Host{OS: "darwin"}, []string{"target_os", "macos"}, ""},
		{"mac on darwin", Host{OS: "darwin"}, []string{"target_os", "mac"}, ""},
		{"debian_based not on darwin", Host{OS: "darwin"}, []string{"target_os", "debian_based"}, "target_os"},
		{"host OS given as an alias", Host{OS: "macos"}, []string{"target_os", "darwin"}, ""},
		{"unknown host OS", Host{OS: "haiku"}, []string{"target_os", "windows"}, "target_os"},
		{"any OS when host has none", Host{}, []string{"target_os", "windows"}, ""},
		{"min_os_version met", win, []string{"min_os_version", "10.0.19041"}, ""},
		{"min_os_version natural order", Host{OSVersion: "10.0.9"}, []string{"min_os_version", "10.0.10"}, "needs OS version >= 10.0.10"},
		{"max_os_version met", win, []string{"max_os_version", "10.0.19045"}, ""},
		{"max_os_version exceeded", win, []string{"max_os_version", "6.3"}, "needs OS version <= 6.3"},
		{"os version with text", Host{OSVersion: "22.04.3 LTS"}, []string{"min_os_version", "22.04"}, ""},
		{"os version with 5 members", Host{OSVersion: "10.0.19045.3803.1"}, []string{"max_os_version", "10.0.19045.3803"}, ""},
		{"bad min_os_version", win, []string{"min_os_version", "ten"}, `min_os_version "ten" is not a version`},
		{"no host os version", Host{}, []string{"min_os_version", "99"}, ""},
		{"arch native", win, []string{"architecture", "x64"}, ""},
		{"arch alias", win, []string{"architecture", "amd64"}, ""},
		{"x86 on x64", win, []string{"architecture", "x86"}, ""},
		{"x64 on x86", Host{Arch: "x86"}, []string{"architecture", "x64"}, "architecture x64 does not run on x86"},
		{"arm64 on x64", win, []string{"architecture", "arm64"}, "architecture arm64"},
		{"aarch64 on arm64", Host{Arch: "arm64"}, []string{"architecture", "aarch64"}, ""},
		{"any arch when host has none", Host{}, []string{"architecture", "arm64"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Accept(tt.host, cand("p", "1.0-1", tt.kv...).Control)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Accept = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrFiltered) {
				t.Fatalf("Accept = %v, want an ErrFiltered", err)
			}
			if !strings.Contains(err.Error(), tt.reason) || !strings.Contains(err.Error(), "p 1.0-1") {
				t.Errorf("Accept = %q, want it to name p 1.0-1 and contain %q", err, tt.reason)
			}
		})
	}
}

func TestBest(t *testing.T) {
	t.Parallel()
	cands := []Candidate{
		cand("a", "1.0-1"), cand("a", "1.2-1"), cand("a", "1.2-4"), cand("A", "2.0-1"),
		cand("a", "3.0-1", "maturity", "BETA"), cand("b", "9"),
		cand("a", "2.0-1", "architecture", "x64", "repo", "native"),
		{Repo: "broken"},
	}
	host := Host{OS: "windows", Arch: "x64"}
	tests := []struct {
		req  string
		want string // "" = none
	}{
		{"a", "2.0-1@native"},
		{"a(=1.2)", "1.2-4"},
		{"a(=1.2-1)", "1.2-1"},
		{"a(<1.2)", "1.0-1"},
		{"a(>2)", ""},
		{"a(>=3)", ""},
		{"b", "9"},
		{"c", ""},
	}
	for _, tt := range tests {
		t.Run(tt.req, func(t *testing.T) {
			t.Parallel()
			got, ok := Best(cands, requests(t, tt.req)[0], host)
			desc := ""
			if ok {
				desc = got.Control.Get("version")
				if got.Repo != "main" {
					desc += "@" + got.Repo
				}
			}
			if desc != tt.want {
				t.Errorf("Best(%s) = %q, want %q", tt.req, desc, tt.want)
			}
		})
	}
}
