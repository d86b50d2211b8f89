package exit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Prefs are the user's choices about upgrades at shutdown, set from the
// tray's "Upgrade at shutdown" toggle and read by waptexit when it runs as
// that user (logoff). A system-wide waptexit run (systemd, GPO shutdown
// script) has no user and ignores them.
type Prefs struct {
	// UpgradeAtShutdown (default true) is false when the user asked to
	// skip upgrades at shutdown; it only matters when the policy allows
	// postponing.
	UpgradeAtShutdown bool
}

// DefaultPrefs are the Prefs of a user who never chose.
var DefaultPrefs = Prefs{UpgradeAtShutdown: true}

// maxPrefsSize bounds the prefs file.
const maxPrefsSize = 64 << 10

// prefsFile is the JSON form of Prefs; a missing key keeps its default.
type prefsFile struct {
	UpgradeAtShutdown *bool `json:"upgrade_at_shutdown,omitempty"`
}

// PrefsPath is the current user's prefs file:
// os.UserConfigDir()/wapttray/prefs.json.
func PrefsPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("prefs: %w", err)
	}
	return filepath.Join(dir, "wapttray", "prefs.json"), nil
}

// LoadPrefs reads path; a missing file gives DefaultPrefs.
func LoadPrefs(path string) (Prefs, error) {
	p := DefaultPrefs
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("prefs: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPrefsSize+1))
	if err != nil {
		return p, fmt.Errorf("prefs: read %s: %w", path, err)
	}
	if len(b) > maxPrefsSize {
		return p, fmt.Errorf("prefs: %s is larger than %d bytes", path, maxPrefsSize)
	}
	var pf prefsFile
	if err := json.Unmarshal(b, &pf); err != nil {
		return p, fmt.Errorf("prefs: decode %s: %w", path, err)
	}
	if pf.UpgradeAtShutdown != nil {
		p.UpgradeAtShutdown = *pf.UpgradeAtShutdown
	}
	return p, nil
}

// SavePrefs writes p to path (creating its directory), atomically.
func SavePrefs(path string, p Prefs) error {
	b, err := json.MarshalIndent(prefsFile{UpgradeAtShutdown: &p.UpgradeAtShutdown}, "", "  ")
	if err != nil {
		return fmt.Errorf("prefs: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("prefs: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".prefs-*.json")
	if err != nil {
		return fmt.Errorf("prefs: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("prefs: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("prefs: write %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("prefs: %w", err)
	}
	return nil
}
