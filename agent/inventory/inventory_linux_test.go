package inventory

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A real collection on this machine: dpkg software and the host facts.
func TestCollectRealLinux(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("no dpkg-query on this machine")
	}
	secs, err := Collect(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := Map(secs)
	var sw []Software
	if err := json.Unmarshal(m[SectionSoftware], &sw); err != nil {
		t.Fatalf("software: %v: %s", err, m[SectionSoftware])
	}
	found := false
	for _, s := range sw {
		if s.Source == SourceDpkg && (s.Name == "dpkg" || s.Name == "libc6") && s.Version != "" {
			found = true
		}
	}
	if !found {
		t.Errorf("software has no dpkg or libc6 among %d entries", len(sw))
	}
	var host hostInfo
	if err := json.Unmarshal(m[SectionHost], &host); err != nil || host.Hostname == "" {
		t.Errorf("host = %s (%v)", m[SectionHost], err)
	}
	if host.OS != "linux" || host.KernelVersion == "" || host.BootTime == "" {
		t.Errorf("host = %+v", host)
	}
	for _, s := range secs {
		if len(s.Data) > 1<<20 {
			t.Errorf("%s: %d bytes, over the server's 1 MiB section limit", s.Name, len(s.Data))
		}
		t.Logf("%s (%d bytes, err %v): %.300s", s.Name, len(s.Data), s.Err, s.Data)
	}
}

func TestSystemUUIDLinux(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		uuid *string // nil: no product_uuid file
		want string
	}{
		{"real", ptr("8E7F2C80-2B4A-11B2-A85C-D1F5E8A0C3B4\n"), "8e7f2c80-2b4a-11b2-a85c-d1f5e8a0c3b4"},
		{"all zero", ptr("00000000-0000-0000-0000-000000000000\n"), ""},
		{"all F", ptr("FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF\n"), ""},
		{"placeholder", ptr("03000200-0400-0500-0006-000700080009\n"), ""},
		{"garbage", ptr("Not Settable\n"), ""},
		{"missing", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			dir := filepath.Join(root, "sys", "class", "dmi", "id")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "sys_vendor"), []byte("QEMU\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if tt.uuid != nil {
				if err := os.WriteFile(filepath.Join(dir, "product_uuid"), []byte(*tt.uuid), 0o400); err != nil {
					t.Fatal(err)
				}
			}
			got, err := SystemUUID(t.Context(), Options{Root: root})
			if tt.want == "" {
				if !errors.Is(err, ErrNoUUID) || got != "" {
					t.Errorf("got %q, %v; want ErrNoUUID", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := SystemUUID(t.Context(), Options{Root: t.TempDir()}); !errors.Is(err, ErrNoUUID) {
		t.Errorf("no DMI at all: err = %v", err)
	}
}

func ptr(s string) *string { return &s }

func TestExecRunner(t *testing.T) {
	t.Parallel()
	out, err := execRunner(t.Context(), "sh", "-c", "echo hello; echo noise >&2")
	if err != nil || string(out) != "hello\n" {
		t.Errorf("got %q, %v", out, err)
	}
	if _, err := execRunner(t.Context(), "no-such-command-wapt"); !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("missing command: err = %v", err)
	}
	if _, err := execRunner(t.Context(), "sh", "-c", "echo broken >&2; exit 3"); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("failing command: err = %v", err)
	}
	if _, err := execRunner(t.Context(), "head", "-c", "70000000", "/dev/zero"); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Errorf("huge output: err = %v", err)
	}
}
