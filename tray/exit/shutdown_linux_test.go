package exit

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestInstallShutdownHookLinux(t *testing.T) {
	root := t.TempDir()
	var ran []string
	c := ShutdownConfig{Exe: "/usr/bin/waptexit", Root: root, Run: func(_ context.Context, name string, args ...string) ([]byte, error) {
		ran = append(ran, name+" "+strings.Join(args, " "))
		return nil, nil
	}}
	done, err := InstallShutdownHook(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "etc/systemd/system/waptexit.service")
	if !slices.Equal(done, []string{path}) {
		t.Errorf("done = %v", done)
	}
	b, err := os.ReadFile(path)
	if err != nil || string(b) != SystemdUnit(c) {
		t.Fatalf("unit file = %q, %v", b, err)
	}
	if want := []string{"systemctl daemon-reload", "systemctl enable --now waptexit.service"}; !slices.Equal(ran, want) {
		t.Errorf("ran %q, want %q", ran, want)
	}

	ran = nil
	if _, err := UninstallShutdownHook(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("unit file still there: %v", err)
	}
	// The unit is stopped only once its file is gone, so that stopping
	// it does not run waptexit.
	if want := []string{"systemctl disable waptexit.service", "systemctl daemon-reload", "systemctl stop waptexit.service"}; !slices.Equal(ran, want) {
		t.Errorf("ran %q, want %q", ran, want)
	}

	if _, err := InstallShutdownHook(context.Background(), ShutdownConfig{Exe: "waptexit", Root: root, Run: c.Run}); err == nil {
		t.Error("relative waptexit path accepted")
	}
}

func TestSystemProcessesLinux(t *testing.T) {
	self := filepath.Base(os.Args[0])
	got, err := SystemProcesses{}.Running(context.Background(), []string{self, "no-such-process-xyz"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{self}) {
		t.Errorf("Running = %v, want [%s]", got, self)
	}
}
