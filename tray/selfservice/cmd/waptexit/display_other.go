//go:build !unix

package main

// hasDisplay reports whether a graphical session is reachable; on Windows
// a desktop always is.
func hasDisplay(func(string) string) bool { return true }

// shutdownArgs are waptexit's arguments in the GPO shutdown script, before
// --socket: the window.
func shutdownArgs() []string { return nil }
