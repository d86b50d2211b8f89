package loadgen

import (
	"fmt"
	"os"
)

// ProcMem reads the VmRSS and VmHWM of process pid from /proc (pid 0: this
// process).
func ProcMem(pid int) (Mem, error) {
	path := "/proc/self/status"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Mem{}, err
	}
	return parseProcStatus(b)
}
