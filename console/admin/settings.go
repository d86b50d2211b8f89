package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/wapt-go/wapt/shared/atomicfile"
)

// maxSettingsSize bounds the settings file.
const maxSettingsSize = 1 << 20

// SettingsPath returns where the console keeps the user's settings:
// os.UserConfigDir()/waptconsole/settings.json.
func SettingsPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("settings: %w", err)
	}
	return filepath.Join(dir, "waptconsole", "settings.json"), nil
}

// LoadSettings reads the settings at path; a missing file gives zero
// Settings and no error.
func LoadSettings(path string) (Settings, error) {
	var s Settings
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("settings: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSettingsSize+1))
	if err != nil {
		return s, fmt.Errorf("settings %s: %w", path, err)
	}
	if len(data) > maxSettingsSize {
		return s, fmt.Errorf("settings %s: larger than %d bytes", path, maxSettingsSize)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return Settings{}, fmt.Errorf("settings %s: %w", path, err)
	}
	return s, nil
}

// SaveSettings writes s to path atomically, mode 0600, creating its
// directory (mode 0700) when missing.
func SaveSettings(path string, s Settings) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	if err := atomicfile.WriteFile(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	return nil
}
