// Command waptagent is the WAPT agent service: it registers the host,
// runs scheduled updates and the admin-signed actions the server relays,
// reports status and serves the local API (see agent/cli.AgentMain).
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
	code := cli.AgentMain(ctx, os.Args[1:], cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}
