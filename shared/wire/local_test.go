package wire

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLocalTaskRequestValidate(t *testing.T) {
	many := make([]string, MaxLocalTaskPackages+1)
	for i := range many {
		many[i] = "p"
	}
	tests := []struct {
		name   string
		req    LocalTaskRequest
		fields []string // the invalid fields; none when valid
	}{
		{"update", LocalTaskRequest{Kind: LocalKindUpdate}, nil},
		{"upgrade some", LocalTaskRequest{Kind: LocalKindUpgrade, Packages: []string{"tis-firefox"}}, nil},
		{"install with constraint", LocalTaskRequest{Kind: LocalKindInstall, Packages: []string{"tis-firefox(>=120)"}, Force: true}, nil},
		{"remove", LocalTaskRequest{Kind: LocalKindRemove, Packages: []string{"tis-7zip"}}, nil},
		{"audit all", LocalTaskRequest{Kind: LocalKindAudit, Force: true}, nil},
		{"no kind", LocalTaskRequest{}, []string{"kind"}},
		{"unknown kind", LocalTaskRequest{Kind: "reboot"}, []string{"kind"}},
		{"install nothing", LocalTaskRequest{Kind: LocalKindInstall}, []string{"packages"}},
		{"remove nothing", LocalTaskRequest{Kind: LocalKindRemove, Packages: []string{}}, []string{"packages"}},
		{"too many", LocalTaskRequest{Kind: LocalKindInstall, Packages: many}, []string{"packages"}},
		{"bad names", LocalTaskRequest{Kind: LocalKindInstall, Packages: []string{
			"ok", "", "a b", "x\x00y", strings.Repeat("n", MaxLocalPackageArgLen+1), "\xff",
		}}, []string{"packages[1]", "packages[2]", "packages[3]", "packages[4]", "packages[5]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.req.Validate()
			if len(tt.fields) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var fe *FieldsError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate = %v, want a *FieldsError", err)
			}
			if len(fe.Fields) != len(tt.fields) {
				t.Errorf("fields %v, want %v", fe.Fields, tt.fields)
			}
			for _, f := range tt.fields {
				if fe.Fields[f] == "" {
					t.Errorf("no reason for %s in %v", f, fe.Fields)
				}
			}
		})
	}
}

func TestLocalJSON(t *testing.T) {
	// Zero times and empty optional fields are left out.
	b, err := json.Marshal(LocalTask{ID: 1, Kind: LocalKindUpdate, State: LocalStateQueued})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"id":1,"kind":"update","state":"queued","progress":0}`; string(b) != want {
		t.Errorf("LocalTask JSON = %s, want %s", b, want)
	}
	b, err = json.Marshal(LocalStatus{HostUUID: "h"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"host_uuid":"h","status":"","pending":null,"connected":false}`; string(b) != want {
		t.Errorf("LocalStatus JSON = %s, want %s", b, want)
	}

	// A full event round-trips.
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	in := LocalEvent{Seq: 9, Time: now, Task: LocalTask{
		ID: 3, Kind: LocalKindInstall, Packages: []string{"tis-7zip"}, State: LocalStateDone,
		Progress: 100, Message: "installed", Started: now, Finished: now.Add(time.Minute), Caller: "bob",
	}}
	b, err = json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"started":`, `"finished":`, `"caller":"bob"`, `"packages":["tis-7zip"]`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("LocalEvent JSON %s lacks %s", b, key)
		}
	}
	var out LocalEvent
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !out.Time.Equal(in.Time) || !out.Task.Finished.Equal(in.Task.Finished) || out.Task.Caller != "bob" || out.Seq != 9 {
		t.Errorf("round trip = %+v, want %+v", out, in)
	}
}
