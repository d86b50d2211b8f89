//go:build !windows && !darwin

package menu

import (
	"fmt"
	"os/exec"
)

// OpenFile shows path with the desktop's default application (xdg-open).
func OpenFile(path string) error {
	return start("xdg-open", path)
}

// SendNotification shows a desktop notification with notify-send.
func SendNotification(title, text string) error {
	bin, err := exec.LookPath("notify-send")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoNotifier, err)
	}
	return start(bin, "--app-name=WAPT", "--", title, text)
}
