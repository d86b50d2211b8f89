// Command waptloadgen registers simulated hosts on a waptserver and posts
// their signed status reports at a given rate, then prints throughput and
// latency percentiles; with --sessions it keeps their websocket uplinks
// open instead, times the fan-out of an admin-signed action (--fanout) and
// reads the server's memory (see package server/loadgen).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/wapt-go/wapt/server/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := loadgen.Main(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "waptloadgen:", err)
		os.Exit(1)
	}
}
