package admin

import (
	"errors"
	"testing"
	"time"

	"github.com/wapt-go/wapt/server/client"
)

func TestParseFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    client.HostQuery
		badKeys []string // nil: no error
	}{
		{"empty", "", client.HostQuery{}, nil},
		{"free text", "  pc-12   room ", client.HostQuery{Text: "pc-12 room"}, nil},
		{"status lower case", "status:error", client.HostQuery{Status: "ERROR"}, nil},
		{"KEY=VALUE", "status=NEED-UPGRADE os=linux", client.HostQuery{Status: "NEED-UPGRADE", OS: "linux"}, nil},
		{"all keys", "status:ERROR software:firefox<115 group:office os:linux unit:OU=room1,DC=lan free text",
			client.HostQuery{Status: "ERROR", Software: "firefox<115", Group: "office", OS: "linux", Unit: "OU=room1,DC=lan", Text: "free text"}, nil},
		{"package request", "package:firefox(>=115-2)", client.HostQuery{Package: "firefox(>=115-2)"}, nil},
		{"package = version", "package=firefox=128", client.HostQuery{Package: "firefox(=128)"}, nil},
		{"quoted token", `"q:two words" other`, client.HostQuery{Text: "two words other"}, nil},
		{"quoted value", `q:'two words' group:"my group"`, client.HostQuery{Text: "two words", Group: "my group"}, nil},
		{"quoted free text with colon", `"C:\temp"`, client.HostQuery{Text: `C:\temp`}, nil},
		{"case-insensitive key", "OS:windows", client.HostQuery{OS: "windows"}, nil},
		{"not a key", "10:30 a-b:c", client.HostQuery{Text: "10:30 a-b:c"}, nil},
		{"unknown key", "colour:red", client.HostQuery{}, []string{"colour"}},
		{"unknown status", "status:broken", client.HostQuery{}, []string{"status"}},
		{"bad package", "package:firefox(<<1)", client.HostQuery{}, []string{"package"}},
		{"software prefix", "software:python3*", client.HostQuery{Software: "python3*"}, nil},
		{"empty value", "os:", client.HostQuery{}, []string{"os"}},
		{"twice", "os:linux os:windows", client.HostQuery{}, []string{"os"}},
		{"package and software", "package:a software:b", client.HostQuery{Package: "a", Software: "b"}, nil},
		{"unclosed quote", `q:"abc`, client.HostQuery{}, []string{"q"}},
		{"several errors", "foo:1 status:x", client.HostQuery{}, []string{"foo", "status"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseFilter(tt.in)
			if tt.badKeys == nil {
				if err != nil || got != tt.want {
					t.Fatalf("ParseFilter(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
				}
				return
			}
			var fe FieldErrors
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseFilter(%q) error = %v, want FieldErrors", tt.in, err)
			}
			if len(fe) != len(tt.badKeys) {
				t.Errorf("fields = %v, want keys %v", fe, tt.badKeys)
			}
			for _, k := range tt.badKeys {
				if fe[k] == "" {
					t.Errorf("no reason for %q in %v", k, fe)
				}
			}
		})
	}
}

// TestParseFilterUnreachable: status:unreachable selects the hosts not seen
// for UnreachableAfter.
func TestParseFilterUnreachable(t *testing.T) {
	q, err := ParseFilter("status:Unreachable os:linux")
	if err != nil {
		t.Fatal(err)
	}
	want := time.Now().Add(-UnreachableAfter)
	if d := q.SeenBefore.Sub(want); d > time.Second || d < -time.Second || q.Status != "" || q.OS != "linux" {
		t.Errorf("ParseFilter = %+v, want seen before %s", q, want)
	}
}
