//go:build unix

package script

import (
	"errors"
	"os/exec"
	"syscall"
)

// prepareCommand puts the command in its own process group so that a
// timeout or a cancellation kills the whole tree.
func prepareCommand(cmd *exec.Cmd, _ []string, _ RunOptions) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

func setRegistryValue(uint32, string, string, any) error {
	return errors.New("registry: not available on this system")
}

// shellArgv runs a command line with /bin/sh, as Python's shell=True.
func shellArgv(cmd string) []string { return []string{"/bin/sh", "-c", cmd} }
