//go:build !windows && !darwin

package menu

import (
	"os"
	"path/filepath"
	"testing"
)

func TestInstallAutostartXDG(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	path, err := InstallAutostart("/usr/bin/wapttray", []string{"--socket", "/tmp/s"})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "autostart", "wapttray.desktop"); path != want {
		t.Errorf("path = %q, want %q", path, want)
	}
	b, err := os.ReadFile(path)
	if err != nil || string(b) != DesktopEntry("/usr/bin/wapttray", []string{"--socket", "/tmp/s"}) {
		t.Fatalf("entry = %q, %v", b, err)
	}
	for range 2 { // the second time finds nothing to remove
		if _, err := UninstallAutostart(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("entry still there: %v", err)
	}
}
