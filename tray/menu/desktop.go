package menu

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Desktop helpers: opening a file, desktop notifications and starting
// the self-service process. The per-OS parts are in desktop_*.go.

// ErrNoNotifier means this desktop has no notification command.
var ErrNoNotifier = errors.New("no desktop notification command")

// SelfServiceName is the self-service binary's name, without ".exe".
const SelfServiceName = "wapt-selfservice"

// SelfServicePath is the default self-service binary: wapt-selfservice
// next to the running executable.
func SelfServicePath() string {
	name := SelfServiceName
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	exe, err := os.Executable()
	if err != nil {
		return name
	}
	return filepath.Join(filepath.Dir(exe), name)
}

// Launch returns a func that starts path with args and does not wait for
// it (a goroutine reaps it).
func Launch(path string, args ...string) func() error {
	return func() error {
		cmd := exec.Command(path, args...)
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start %s: %w", path, err)
		}
		go cmd.Wait()
		return nil
	}
}

// start runs name with args in the background.
func start(name string, args ...string) error {
	return Launch(name, args...)()
}
