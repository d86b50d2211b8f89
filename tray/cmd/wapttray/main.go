// Command wapttray is the WAPT tray icon: it shows the host's update state
// from the agent's local API, lists the pending upgrades, lets the user
// check for updates, install them now, open the self-service window and
// choose whether to upgrade at shutdown. The logic is package tray/menu;
// systray.go is the only file that touches the system tray.
//
// Usage:
//
//	wapttray [--socket PATH] [--selfservice PATH] [--log PATH]
//	wapttray install [same flags]   start the tray at login (this user)
//	wapttray uninstall              stop starting it at login
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/wapt-go/wapt/agent/localclient"
	"github.com/wapt-go/wapt/tray/exit"
	"github.com/wapt-go/wapt/tray/menu"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	logger := log.New(os.Stderr, "", log.LstdFlags)
	verb := ""
	if len(args) > 0 && (args[0] == "install" || args[0] == "uninstall") {
		verb, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("wapttray", flag.ContinueOnError)
	socket := fs.String("socket", "", "the agent's local API socket or pipe (default "+localclient.DefaultPath()+")")
	selfService := fs.String("selfservice", "", "the self-service program (default "+menu.SelfServiceName+" next to wapttray)")
	logPath := fs.String("log", "", "the agent's log file for \"Show log\" (default: the agent's recent tasks)")
	poll := fs.Duration("poll", menu.DefaultPollInterval, "pause between two status requests")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: wapttray [flags]\n       wapttray install [flags]\n       wapttray uninstall\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	switch verb {
	case "install":
		return install(logger, fs)
	case "uninstall":
		where, err := menu.UninstallAutostart()
		if err != nil {
			logger.Print(err)
			return 1
		}
		fmt.Println("removed", where)
		return 0
	}

	cfg := menu.Config{
		Agent:        localclient.New(*socket),
		PollInterval: *poll,
		LogPath:      *logPath,
		Logf:         logger.Printf,
	}
	ss := *selfService
	if ss == "" {
		ss = menu.SelfServicePath()
	}
	if _, err := os.Stat(ss); err == nil {
		cfg.SelfService = menu.Launch(ss, selfServiceArgs(*socket)...)
	} else {
		logger.Printf("wapttray: no self-service (%v)", err)
	}
	if p, err := exit.PrefsPath(); err == nil {
		cfg.PrefsPath = p
	} else {
		logger.Printf("wapttray: %v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runTray(ctx, cfg, logger); err != nil && !errors.Is(err, context.Canceled) {
		logger.Print(err)
		return 1
	}
	return 0
}

// selfServiceArgs passes a non-default socket on to the self-service.
func selfServiceArgs(socket string) []string {
	if socket == "" {
		return nil
	}
	return []string{"--socket", socket}
}

// install writes the autostart entry that runs this binary with the flags
// given explicitly.
func install(logger *log.Logger, fs *flag.FlagSet) int {
	exe, err := os.Executable()
	if err != nil {
		logger.Print(err)
		return 1
	}
	var args []string
	fs.Visit(func(f *flag.Flag) {
		args = append(args, "--"+f.Name, f.Value.String())
	})
	where, err := menu.InstallAutostart(exe, args)
	if err != nil {
		logger.Print(err)
		return 1
	}
	fmt.Println("wrote", where)
	return 0
}
