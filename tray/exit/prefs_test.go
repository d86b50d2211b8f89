package exit

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPrefs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wapttray", "prefs.json")
	p, err := LoadPrefs(path)
	if err != nil || p != DefaultPrefs {
		t.Fatalf("LoadPrefs(missing) = %+v, %v; want defaults", p, err)
	}
	if err := SavePrefs(path, Prefs{UpgradeAtShutdown: false}); err != nil {
		t.Fatal(err)
	}
	if p, err := LoadPrefs(path); err != nil || p.UpgradeAtShutdown {
		t.Fatalf("LoadPrefs = %+v, %v; want UpgradeAtShutdown false", p, err)
	}
	if err := SavePrefs(path, Prefs{UpgradeAtShutdown: true}); err != nil {
		t.Fatal(err)
	}
	if p, err := LoadPrefs(path); err != nil || !p.UpgradeAtShutdown {
		t.Fatalf("LoadPrefs = %+v, %v; want UpgradeAtShutdown true", p, err)
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("prefs dir holds %d files, want 1 (temp files left?)", len(ents))
	}

	for name, body := range map[string]string{"empty object": "{}", "unknown keys": `{"x":1}`} {
		os.WriteFile(path, []byte(body), 0o600)
		if p, err := LoadPrefs(path); err != nil || p != DefaultPrefs {
			t.Errorf("%s: LoadPrefs = %+v, %v; want defaults", name, p, err)
		}
	}
	os.WriteFile(path, []byte("not json"), 0o600)
	if _, err := LoadPrefs(path); err == nil {
		t.Error("LoadPrefs accepted a malformed file")
	}
}

func TestPrefsPath(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "/tmp/cfg")
	t.Setenv("HOME", "/tmp/home")
	t.Setenv("AppData", `C:\Users\u\AppData\Roaming`)
	p, err := PrefsPath()
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(p) != "prefs.json" || filepath.Base(filepath.Dir(p)) != "wapttray" {
		t.Errorf("PrefsPath = %q", p)
	}
}
