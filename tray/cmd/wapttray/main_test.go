//go:build !windows && !darwin

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{"extra"}, {"--nope"}, {"install", "extra"}} {
		if c := run(args); c != 2 {
			t.Errorf("run(%q) = %d, want 2", args, c)
		}
	}
	if c := run([]string{"--help"}); c != 0 {
		t.Errorf("run(--help) = %d, want 0", c)
	}
}

func TestInstallUninstall(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	if c := run([]string{"install", "--socket", "/tmp/agent.sock"}); c != 0 {
		t.Fatalf("install = %d", c)
	}
	b, err := os.ReadFile(filepath.Join(dir, "autostart", "wapttray.desktop"))
	if err != nil {
		t.Fatal(err)
	}
	// Only the flags given explicitly are kept.
	if !strings.Contains(string(b), " --socket /tmp/agent.sock\n") || strings.Contains(string(b), "--poll") {
		t.Errorf("entry:\n%s", b)
	}
	if c := run([]string{"uninstall"}); c != 0 {
		t.Fatalf("uninstall = %d", c)
	}
	if _, err := os.Stat(filepath.Join(dir, "autostart", "wapttray.desktop")); !os.IsNotExist(err) {
		t.Errorf("entry still there: %v", err)
	}
}
