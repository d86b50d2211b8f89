// Command wapt-get is the WAPT command line: package administration verbs
// (create-keycert, build-package, sign-package, verify-package, scan-packages)
// and, later, the endpoint verbs over the agent engine.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/wapt-go/wapt/agent/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}
