//go:build !windows

package pkgfile

// hostUnsafe rejects names unsafe on this system beyond checkName: none
// outside Windows.
func hostUnsafe(name string) error { return nil }
