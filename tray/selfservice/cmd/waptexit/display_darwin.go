package main

// hasDisplay reports whether a graphical session is reachable; on macOS
// the window server always is.
func hasDisplay(func(string) string) bool { return true }

// shutdownArgs are waptexit's arguments at logout, before --socket: the
// text UI, as the logout hook runs as root outside the user's session.
func shutdownArgs() []string { return []string{"--console"} }
