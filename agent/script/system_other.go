//go:build !unix && !windows

package script

import (
	"errors"
	"os/exec"
)

func prepareCommand(*exec.Cmd, []string, RunOptions) {}

func setRegistryValue(uint32, string, string, any) error {
	return errors.New("registry: not available on this system")
}

func shellArgv(cmd string) []string { return []string{"/bin/sh", "-c", cmd} }
