//go:build unix && !darwin

package main

// hasDisplay reports whether a graphical session is reachable: an X11 or
// Wayland display is named in the environment.
func hasDisplay(getenv func(string) string) bool {
	return getenv("DISPLAY") != "" || getenv("WAYLAND_DISPLAY") != ""
}

// shutdownArgs are waptexit's arguments at shutdown, before --socket: the
// text UI, as no display is sure to be there.
func shutdownArgs() []string { return []string{"--console"} }
