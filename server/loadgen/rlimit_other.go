//go:build !linux && !darwin

package loadgen

// raiseFileLimit does nothing here (Windows has no RLIMIT_NOFILE: sockets
// are bounded by memory) and says so with errNoFileLimit.
func raiseFileLimit(uint64) (uint64, error) { return 0, errNoFileLimit }
