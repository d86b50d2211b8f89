package localclient

// DefaultPath is the named pipe the agent service listens on.
func DefaultPath() string { return `\\.\pipe\waptagent` }
