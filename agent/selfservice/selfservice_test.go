package selfservice_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/wapt-go/wapt/agent/selfservice"
	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/wire"
)

func mustParse(t *testing.T, from, data string) selfservice.Rules {
	t.Helper()
	r, err := selfservice.Parse(from, []byte(data))
	if err != nil {
		t.Fatalf("Parse(%s): %v", from, err)
	}
	return r
}

func TestParse(t *testing.T) {
	t.Parallel()
	many := make([]string, selfservice.MaxRules+1)
	for i := range many {
		many[i] = fmt.Sprintf("%q", fmt.Sprintf("p%d", i))
	}
	tests := []struct {
		name  string
		data  string
		rules int    // pairs, when valid
		err   string // substring of the error, "" when valid
	}{
		{"empty object", `{}`, 0, ""},
		{"wapt style", `{"Domain Users": ["tis-firefox", "category:Office"], "EXAMPLE\\compta": ["tis-7zip"], "user:alice": ["*"], "*": ["tis-vlc"]}`, 5, ""},
		{"byte-order mark", "\xef\xbb\xbf{\"g\": [\"p\"]}", 1, ""},
		{"empty list", `{"g": []}`, 0, ""},
		{"group prefix", `{"group:user:odd": ["p"]}`, 1, ""},
		{"max rules", `{"g": [` + strings.Join(many[:selfservice.MaxRules], ",") + `]}`, selfservice.MaxRules, ""},
		{"too many rules", `{"g": [` + strings.Join(many[:selfservice.MaxRules/2], ",") + `], "h": [` + strings.Join(many[selfservice.MaxRules/2:], ",") + `]}`, 0, "more than 10000 rules"},
		{"too large", `{"g": ["` + strings.Repeat("a", selfservice.MaxSize) + `"]}`, 0, "larger than"},
		{"not an object", `["tis-firefox"]`, 0, "want a JSON object"},
		{"empty input", ``, 0, "want a JSON object"},
		{"not utf-8", "{\"g\xff\": [\"p\"]}", 0, "not UTF-8"},
		{"value not a list", `{"g": "tis-firefox"}`, 0, "want a list"},
		{"null value", `{"g": null}`, 0, "want a list"},
		{"number in list", `{"g": ["a", 1]}`, 0, "want a list"},
		{"duplicate key", `{"g": ["a"], "g": ["b"]}`, 0, "appears twice"},
		{"trailing data", `{"g": ["a"]} {}`, 0, "after the JSON object"},
		{"truncated", `{"g": ["a"]`, 0, "bad self-service rules"},
		{"empty key", `{"": ["a"]}`, 0, "empty name"},
		{"empty user", `{"user:": ["a"]}`, 0, "empty name"},
		{"wildcard user", `{"user:*": ["a"]}`, 0, "wildcard"},
		{"control char key", `{"g\u0001": ["a"]}`, 0, "control character"},
		{"long key", `{"` + strings.Repeat("k", 257) + `": ["a"]}`, 0, "longer than"},
		{"empty entry", `{"g": [""]}`, 0, "empty"},
		{"empty category", `{"g": ["category:"]}`, 0, "empty"},
		{"version in entry", `{"g": ["tis-firefox(>=1)"]}`, 0, "not a package name"},
		{"space in entry", `{"g": ["tis firefox"]}`, 0, "not a package name"},
		{"glob entry", `{"g": ["tis-*"]}`, 0, "not a package name"},
		{"long entry", `{"g": ["` + strings.Repeat("p", wire.MaxPackageNameLen+1) + `"]}`, 0, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := selfservice.Parse("rules-pkg", []byte(tt.data))
			if tt.err == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if r.Len() != tt.rules {
					t.Errorf("Len = %d, want %d", r.Len(), tt.rules)
				}
				return
			}
			if !errors.Is(err, selfservice.ErrRules) || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Parse = %v, want ErrRules with %q", err, tt.err)
			}
			if !strings.Contains(err.Error(), "rules-pkg") {
				t.Errorf("error %q does not name the rules package", err)
			}
		})
	}
}

func pkg(name string, categories ...string) selfservice.Package {
	return selfservice.Package{Name: name, Section: "base", Categories: categories}
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	office := mustParse(t, "rules-office", `{
		"compta":          ["tis-libreoffice", "category:Office"],
		"EXAMPLE\\Labo":   ["tis-python"],
		"user:alice":      ["tis-gimp"],
		"*":               ["tis-vlc"]
	}`)
	admins := mustParse(t, "rules-it", `{"IT-Staff": ["*"]}`)
	rules := selfservice.Merge(office, admins)

	bob := wire.LocalCaller{UID: "1000", Username: "bob", Groups: []string{"bob", "Compta"}}
	alice := wire.LocalCaller{UID: "1001", Username: "ALICE", Groups: []string{"alice"}}
	winLabo := wire.LocalCaller{UID: "S-1-5-21-1", Username: `EXAMPLE\carol`, Groups: []string{`EXAMPLE\Domain Users`, `example\labo`}}
	otherLabo := wire.LocalCaller{UID: "S-1-5-21-2", Username: `OTHER\dave`, Groups: []string{`OTHER\Labo`}}
	winCompta := wire.LocalCaller{UID: "S-1-5-21-3", Username: `EXAMPLE\erin`, Groups: []string{`EXAMPLE\compta`}}
	winAlice := wire.LocalCaller{UID: "S-1-5-21-4", Username: `EXAMPLE\alice`}
	it := wire.LocalCaller{UID: "1002", Username: "frank", Groups: []string{"it-staff"}}
	nobody := wire.LocalCaller{UID: "65534", Username: "nobody", Groups: []string{"nogroup"}}
	root := wire.LocalCaller{UID: "0", Username: "root", Groups: []string{"root"}, Admin: true}

	tests := []struct {
		name   string
		rules  selfservice.Rules
		caller wire.LocalCaller
		pkg    selfservice.Package
		want   bool
		from   string // substring of the granting rule, when allowed
	}{
		{"group by name, case-insensitive", rules, bob, pkg("tis-libreoffice"), true, "rules-office (compta)"},
		{"package name case-insensitive", rules, bob, pkg("TIS-LibreOffice"), true, "compta"},
		{"group via category", rules, bob, pkg("tis-onlyoffice", "Utilities", "office"), true, "compta"},
		{"category not held", rules, bob, pkg("tis-inkscape", "Graphics"), false, ""},
		{"group not held", rules, bob, pkg("tis-python"), false, ""},
		{"everyone", rules, nobody, pkg("tis-vlc"), true, "(*)"},
		{"everyone, other package", rules, nobody, pkg("tis-libreoffice"), false, ""},
		{"user key, case-insensitive", rules, alice, pkg("tis-gimp"), true, "user:alice"},
		{"user key not another user", rules, bob, pkg("tis-gimp"), false, ""},
		{"user without domain matches DOMAIN\\user", rules, winAlice, pkg("tis-gimp"), true, "user:alice"},
		{"DOMAIN\\group rule", rules, winLabo, pkg("tis-python"), true, `EXAMPLE\Labo`},
		{"DOMAIN\\group rule, other domain", rules, otherLabo, pkg("tis-python"), false, ""},
		{"group rule without domain matches DOMAIN\\group", rules, winCompta, pkg("tis-libreoffice"), true, "compta"},
		{"wildcard entry", rules, it, pkg("tis-anything"), true, "rules-it (IT-Staff)"},
		{"wildcard entry, not offered section", rules, it, selfservice.Package{Name: "host-1", Section: "host"}, false, ""},
		{"selfservice section never offered", rules, it, selfservice.Package{Name: "rules-office", Section: "selfservice"}, false, ""},
		{"empty section is base", rules, nobody, selfservice.Package{Name: "tis-vlc"}, true, "(*)"},
		{"admin without rules", selfservice.Rules{}, root, pkg("tis-anything"), true, "administrator"},
		{"no rules", selfservice.Rules{}, bob, pkg("tis-vlc"), false, ""},
		{"one file alone grants less than the union", office, it, pkg("tis-anything"), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			from, ok := tt.rules.For(tt.caller).Allows(tt.pkg)
			if ok != tt.want || !strings.Contains(from, tt.from) {
				t.Errorf("Allows = %q, %v; want %v from %q", from, ok, tt.want, tt.from)
			}
			err := tt.rules.Check(tt.caller, tt.pkg)
			if tt.want != (err == nil) || (err != nil && !errors.Is(err, selfservice.ErrNotAllowed)) {
				t.Errorf("Check = %v", err)
			}
		})
	}
}

func TestGrantEmpty(t *testing.T) {
	t.Parallel()
	r := mustParse(t, "r", `{"wheel": ["tis-a"]}`)
	if !r.For(wire.LocalCaller{Username: "bob", Groups: []string{"users"}}).Empty() {
		t.Error("a caller no rule names has a non-empty grant")
	}
	if r.For(wire.LocalCaller{Username: "bob", Groups: []string{"wheel"}}).Empty() {
		t.Error("a member of wheel has an empty grant")
	}
	if (selfservice.Rules{}).For(wire.LocalCaller{Admin: true}).Empty() {
		t.Error("an administrator has an empty grant")
	}
}

func TestPackageOf(t *testing.T) {
	t.Parallel()
	c := control.New()
	c.Set("package", "tis-firefox")
	c.Set("categories", " Internet , ,Browsers")
	p := selfservice.PackageOf(c)
	if p.Name != "tis-firefox" || p.Section != "base" || strings.Join(p.Categories, "|") != "Internet|Browsers" {
		t.Errorf("PackageOf = %+v", p)
	}
	for s, want := range map[string]bool{"base": true, "group": true, "": true, "host": false, "Unit": false, "profile": false, "selfservice": false} {
		if got := selfservice.Offered(s); got != want {
			t.Errorf("Offered(%q) = %v", s, got)
		}
	}
}
