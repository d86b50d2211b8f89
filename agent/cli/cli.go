// Package cli implements the wapt-get command line: its verbs, flags, exit
// codes and messages. The main package only calls Run.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1 // the operation failed (bad package, bad signature, I/O...)
	ExitUsage = 2 // bad command line
)

// Env is the process environment the CLI runs in; tests give their own.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// ReadPassword prompts for a key password; nil means "no terminal": use the
	// terminal on Stdin when it is one, else fail with a clear message.
	ReadPassword func(prompt string) ([]byte, error)
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// PasswordEnv is the environment variable holding private key passwords.
const PasswordEnv = "WAPT_KEY_PASSWORD"

var errUsage = errors.New("usage")

// usageError marks command-line mistakes (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }
func (e usageError) Unwrap() error { return errUsage }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// Run executes wapt-get with args and returns the process exit code.
func Run(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Stdout == nil {
		env.Stdout = io.Discard
	}
	if env.Stderr == nil {
		env.Stderr = io.Discard
	}
	if env.ReadPassword == nil {
		env.ReadPassword = terminalPassword(env)
	}
	root := newRoot(&env)
	root.SetArgs(args)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.SetIn(env.Stdin)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(env.Stderr, "wapt-get:", err)
	if errors.Is(err, errUsage) {
		return ExitUsage
	}
	if errors.Is(err, errPartial) {
		return ExitPartial
	}
	return ExitError
}

func newRoot(env *Env) *cobra.Command {
	root := &cobra.Command{
		Use:           "wapt-get",
		Short:         "WAPT command line: install and upgrade packages; build, sign, verify and index them",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q (see wapt-get --help)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			_ = cmd.Help()
			return usagef("a command is required")
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err.Error()} })
	root.AddCommand(
		createKeycertCmd(env),
		buildPackageCmd(env),
		signPackageCmd(env),
		verifyPackageCmd(env),
		scanPackagesCmd(env),
	)
	root.AddCommand(endpointCommands(env)...)
	root.AddCommand(inventoryCmd(env))
	root.AddCommand(serverCommands(env)...)
	return root
}

// exactArgs is cobra.ExactArgs returning a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s: expects %d argument(s), got %d (see --help)", cmd.Name(), n, len(args))
		}
		return nil
	}
}

// terminalPassword prompts on the terminal when Stdin is one.
func terminalPassword(env Env) func(string) ([]byte, error) {
	return func(prompt string) ([]byte, error) {
		f, ok := env.Stdin.(*os.File)
		if !ok || !term.IsTerminal(int(f.Fd())) {
			return nil, fmt.Errorf("no terminal to ask for it: set $%s", PasswordEnv)
		}
		fmt.Fprint(env.Stderr, prompt)
		defer fmt.Fprintln(env.Stderr)
		return term.ReadPassword(int(f.Fd()))
	}
}
