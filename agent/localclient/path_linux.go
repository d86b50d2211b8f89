package localclient

// DefaultPath is where the agent service listens.
func DefaultPath() string { return "/run/waptagent/waptagent.sock" }
