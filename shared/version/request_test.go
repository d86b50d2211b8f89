package version

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		name    string
		op      Op
		version string
		str     string
	}{
		{"tis-firefox", "tis-firefox", OpAny, "", "tis-firefox"},
		{"  tis-firefox  ", "tis-firefox", OpAny, "", "tis-firefox"},
		{"tis-firefox(=1.2)", "tis-firefox", OpEq, "1.2", "tis-firefox(=1.2)"},
		{"tis-firefox(==1.2)", "tis-firefox", OpEqEq, "1.2", "tis-firefox(==1.2)"},
		{"tis-firefox(>=1.2-3)", "tis-firefox", OpGe, "1.2-3", "tis-firefox(>=1.2-3)"},
		{"tis-firefox (>=1.2)", "tis-firefox", OpGe, "1.2", "tis-firefox(>=1.2)"},
		{"tis-firefox ( <= 1.2 )", "tis-firefox", OpLe, "1.2", "tis-firefox(<=1.2)"},
		{"x(<2)", "x", OpLt, "2", "x(<2)"},
		{"x(>2)", "x", OpGt, "2", "x(>2)"},
		{"OU=room1", "OU=room1", OpAny, "", "OU=room1"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseRequest(tt.in)
			if err != nil {
				t.Fatalf("ParseRequest(%q): %v", tt.in, err)
			}
			if r.Name != tt.name || r.Op != tt.op || r.Version.String() != tt.version {
				t.Errorf("ParseRequest(%q) = {%q %q %q}, want {%q %q %q}", tt.in, r.Name, r.Op, r.Version, tt.name, tt.op, tt.version)
			}
			if got := r.String(); got != tt.str {
				t.Errorf("String() = %q, want %q", got, tt.str)
			}
			again, err := ParseRequest(r.String())
			if err != nil || again.String() != r.String() {
				t.Errorf("ParseRequest(String()) = %v, %v; want %v", again, err, r)
			}
		})
	}
}

func TestParseRequestInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"open paren only", "("},
		{"no name", "(>=1.2)"},
		{"no version", "name(>=)"},
		{"no operator", "name(1.2)"},
		{"empty condition", "name()"},
		{"unknown operator", "name(=>1.2)"},
		{"not equal", "name(!=1.2)"},
		{"unclosed", "name(>=1.2"},
		{"trailing text", "name(>=1.2)x"},
		{"double close", "name(>=1.2))"},
		{"bad version", "name(>=1..2)"},
		{"space in name", "my app(>=1)"},
		{"comma in name", "a,b"},
		{"operator in name", "name>=1.2"},
		{"control char", "na\x01me"},
		{"too long", strings.Repeat("a", 2000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRequest(tt.in)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseRequest(%q) = %v, %v; want ErrInvalid", tt.in, r, err)
			}
			assertNamesInput(t, err, tt.in)
		})
	}
}

func TestMatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		req, name, version string
		want               bool
	}{
		{"app", "app", "1.0-1", true},
		{"app", "APP", "1.0-1", true}, // names are case-insensitive
		{"app", "other", "1.0-1", false},
		{"App(=1.2)", "app", "1.2-7", true}, // no packaging in request: upstream only
		{"app(=1.2)", "app", "1.2.0", true},
		{"app(=1.2)", "app", "1.3", false},
		{"app(==1.2)", "app", "1.2-1", true},
		{"app(=1.2-3)", "app", "1.2-3", true},
		{"app(=1.2-3)", "app", "1.2-4", false},
		{"app(=1.2-0)", "app", "1.2", true},
		{"app(<1.2)", "app", "1.1-99", true},
		{"app(<1.2)", "app", "1.2-0", false},
		{"app(<1.2-3)", "app", "1.2-2", true},
		{"app(<1.2-3)", "app", "1.2-3", false},
		{"app(>1.2)", "app", "1.2-99", false}, // upstream equal
		{"app(>1.2)", "app", "1.10", true},
		{"app(>1.2-3)", "app", "1.2-4", true},
		{"app(<=1.2)", "app", "1.2-99", true},
		{"app(<=1.2)", "app", "1.2.1", false},
		{"app(<=1.2-3)", "app", "1.2-3", true},
		{"app(<=1.2-3)", "app", "1.2-4", false},
		{"app(>=1.2)", "app", "1.2-0", true},
		{"app(>=1.2)", "app", "1.1.9", false},
		{"app(>=1.2-3)", "app", "1.2-2", false},
		{"app(>=1.2-3)", "app", "1.2-3", true},
		{"app (>=1.2)", "app", "1.2", true},
		{"app(>=1.0rc1)", "app", "1.0", false},
	}
	for _, tt := range tests {
		t.Run(tt.req+"_"+tt.name+"_"+tt.version, func(t *testing.T) {
			r, err := ParseRequest(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			v, err := Parse(tt.version)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Matches(tt.name, v); got != tt.want {
				t.Errorf("%q.Matches(%q, %q) = %v, want %v", tt.req, tt.name, tt.version, got, tt.want)
			}
		})
	}
}

func TestParseRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" , ,", nil},
		{"a", []string{"a"}},
		{"a, b(>=1.2) ,c (=3-1),,", []string{"a", "b(>=1.2)", "c(=3-1)"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			rs, err := ParseRequests(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rs {
				got = append(got, r.String())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseRequests(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	if _, err := ParseRequests("a, b(>=1..2)"); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "b(>=1..2)") {
		t.Errorf("ParseRequests with a bad item: err = %v, want ErrInvalid naming the item", err)
	}
}
