package loadgen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Mem is the resident memory of a process, in bytes (VmRSS, VmHWM, RssAnon
// and RssFile of /proc/PID/status on Linux): RSS now and its high-water
// mark, and RSS split into anonymous memory (Go heap, stacks) and mapped
// files (SQLite maps its database).
type Mem struct {
	RSS, HWM, Anon, File uint64
}

// ErrNoProcMem is returned by ProcMem where the memory of a process cannot
// be read (every system but Linux).
var ErrNoProcMem = errors.New("process memory not available on this system")

// errNoFileLimit is returned by raiseFileLimit where there is no open file
// limit to raise.
var errNoFileLimit = errors.New("no open file limit on this system")

// MiB formats a byte count in mebibytes.
func MiB(n uint64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

// parseProcStatus reads VmRSS, VmHWM, RssAnon and RssFile ("VmRSS:
// 12345 kB") from the text of /proc/PID/status; the last two may be
// missing (Linux before 4.5).
func parseProcStatus(b []byte) (Mem, error) {
	var m Mem
	fields := map[string]*uint64{"VmRSS": &m.RSS, "VmHWM": &m.HWM, "RssAnon": &m.Anon, "RssFile": &m.File}
	var found int
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		p := fields[key]
		if !ok || p == nil {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return m, fmt.Errorf("/proc status %s: %q: %w", key, val, err)
		}
		*p = kb << 10
		if key == "VmRSS" || key == "VmHWM" {
			found++
		}
	}
	if found != 2 {
		return m, fmt.Errorf("/proc status: no VmRSS or VmHWM")
	}
	return m, nil
}
