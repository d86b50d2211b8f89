package script

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/windows/registry"
)

// prepareCommand passes a shell command line to cmd.exe verbatim, as
// Python's subprocess does with shell=True.
func prepareCommand(cmd *exec.Cmd, argv []string, opts RunOptions) {
	if opts.Shell && len(argv) > 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{CmdLine: windowsShellCmdLine(argv[0], argv[len(argv)-1])}
	}
}

func setRegistryValue(root uint32, path, name string, value any) error {
	k, _, err := registry.CreateKey(registry.Key(root), strings.ReplaceAll(path, "/", `\`), registry.SET_VALUE|registry.WOW64_64KEY)
	if err != nil {
		return fmt.Errorf("registry %s\\%s: %w", registryRootName(root), path, err)
	}
	defer k.Close()
	switch v := value.(type) {
	case string:
		return k.SetStringValue(name, v)
	case uint32:
		return k.SetDWordValue(name, v)
	case uint64:
		return k.SetQWordValue(name, v)
	case []string:
		return k.SetStringsValue(name, v)
	default:
		return fmt.Errorf("registry: unsupported value type %T", value)
	}
}

// shellArgv runs a command line with cmd.exe, as Python's shell=True.
func shellArgv(cmd string) []string {
	comspec := os.Getenv("COMSPEC")
	if comspec == "" {
		comspec = `C:\Windows\System32\cmd.exe`
	}
	return []string{comspec, "/c", cmd}
}
