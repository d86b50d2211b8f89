package menu

// OpenFile shows path in the default text editor (open -t).
func OpenFile(path string) error {
	return start("/usr/bin/open", "-t", path)
}

// SendNotification shows a notification through osascript; the texts are
// passed as arguments, never as script source.
func SendNotification(title, text string) error {
	return start("/usr/bin/osascript",
		"-e", "on run argv",
		"-e", "display notification (item 2 of argv) with title (item 1 of argv)",
		"-e", "end run",
		title, text)
}
