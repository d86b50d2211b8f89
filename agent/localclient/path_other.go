//go:build !linux && !darwin && !windows

package localclient

// DefaultPath is where the agent service listens.
func DefaultPath() string { return "/var/run/waptagent.sock" }
