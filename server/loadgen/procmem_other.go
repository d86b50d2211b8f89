//go:build !linux

package loadgen

// ProcMem returns ErrNoProcMem: there is no /proc to read here.
func ProcMem(pid int) (Mem, error) { return Mem{}, ErrNoProcMem }
