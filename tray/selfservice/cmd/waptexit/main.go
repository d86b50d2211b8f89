// Command waptexit installs the host's pending upgrades when the computer
// shuts down or the user logs off: when the agent reports pending
// packages it shows a countdown window with "Install now" and "Postpone"
// (only when the policy allows it), runs the upgrade through the agent
// with its progress, then lets the shutdown go on. The flow is package
// tray/exit; the window is tray/selfservice's ExitWindow, and the text UI
// of tray/exit is used with --console or when there is no display.
//
// Usage:
//
//	waptexit [--console] [--socket PATH]
//	waptexit install-shutdown-script [--socket PATH] [--timeout 1h]
//	waptexit uninstall-shutdown-script
//
// The exit status is 0 when nothing was pending, the upgrade was
// postponed or it succeeded, 1 when it failed or the agent could not be
// reached, 2 on a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/wapt-go/wapt/agent/localclient"
	"github.com/wapt-go/wapt/tray/exit"
	"github.com/wapt-go/wapt/tray/selfservice"
)

// quitGrace is how long main waits for the upgrade flow once the window
// toolkit has stopped (the display went away).
const quitGrace = 15 * time.Second

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	logger := log.New(os.Stderr, "", log.LstdFlags)
	if len(args) > 0 {
		switch args[0] {
		case "install-shutdown-script", "uninstall-shutdown-script":
			return hook(args[0], args[1:], logger)
		}
	}
	fs := flag.NewFlagSet("waptexit", flag.ContinueOnError)
	console := fs.Bool("console", false, "use the text UI on the terminal, even with a display")
	socket := fs.String("socket", "", "the agent's local API socket or pipe (default: "+localclient.DefaultPath()+")")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: waptexit [--console] [--socket PATH]\n"+
			"       waptexit install-shutdown-script [--socket PATH] [--timeout 1h]\n"+
			"       waptexit uninstall-shutdown-script\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usageCode(err)
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	agent := localclient.New(*socket)
	opts := exit.Options{Logf: logger.Printf}
	if path, err := exit.PrefsPath(); err == nil {
		prefs, err := exit.LoadPrefs(path)
		if err != nil {
			logger.Printf("waptexit: %v", err)
		}
		opts.UserOptOut = !prefs.UpgradeAtShutdown
	}

	runConsole := func() int {
		res, err := exit.Run(ctx, agent, exit.NewConsole(os.Stdin, os.Stdout), opts)
		return report(logger, res, err)
	}
	if *console || !hasDisplay(os.Getenv) {
		return runConsole()
	}

	app.SetMetadata(fyne.AppMetadata{
		ID: "org.waptgo.waptexit", Name: "WAPT exit", Version: "0.1.0", Build: 1,
		Icon: selfservice.Icon, Migrations: map[string]bool{"fyneDo": true},
	})
	a := app.New()
	ui := selfservice.NewExitWindow(a, selfservice.ExitConfig{})
	code := make(chan int, 1)
	go func() {
		res, err := exit.Run(ctx, agent, ui, opts)
		code <- report(logger, res, err)
		a.Quit()
	}()
	if err := runApp(a); err != nil {
		// The display named in the environment could not be opened: the
		// flow is stuck in its first call to the window (the countdown),
		// before it started any task; run it again on the terminal.
		logger.Printf("waptexit: no usable display, using the text UI: %v", err)
		return runConsole()
	}
	select {
	case c := <-code:
		return c
	case <-time.After(quitGrace):
		logger.Printf("waptexit: the window closed before the upgrade flow ended")
		return 1
	}
}

// runApp runs the window toolkit's loop until the app quits. The toolkit
// panics on its first window when it could not open the display; that
// panic is returned as an error.
func runApp(a fyne.App) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("window toolkit: %v", r)
		}
	}()
	a.Run()
	return nil
}

// report logs how the run ended and returns the exit status.
func report(logger *log.Logger, res exit.Result, err error) int {
	if err != nil {
		logger.Printf("waptexit: error: %s", strings.TrimPrefix(err.Error(), "waptexit: "))
		return 1
	}
	logger.Printf("waptexit: done: %s", res.Outcome)
	return 0
}

// hook installs or removes the shutdown integration (a systemd unit, a
// GPO shutdown script, a macOS logout hook) that runs this binary.
func hook(verb string, args []string, logger *log.Logger) int {
	fs := flag.NewFlagSet("waptexit "+verb, flag.ContinueOnError)
	socket := fs.String("socket", "", "the agent's local API socket or pipe, passed to waptexit at shutdown")
	timeout := fs.Duration("timeout", 0, "bound of one waptexit run at shutdown (default: "+exit.DefaultShutdownTimeout.String()+" with systemd)")
	if err := fs.Parse(args); err != nil {
		return usageCode(err)
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	exe, err := os.Executable()
	if err != nil {
		logger.Printf("waptexit: %v", err)
		return 1
	}
	cfg := exit.ShutdownConfig{Exe: exe, Timeout: *timeout}
	if *socket != "" {
		cfg.Args = append(shutdownArgs(), "--socket", *socket)
	}
	do := exit.InstallShutdownHook
	if verb == "uninstall-shutdown-script" {
		do = exit.UninstallShutdownHook
	}
	files, err := do(context.Background(), cfg)
	for _, f := range files {
		fmt.Println(f)
	}
	if err != nil {
		logger.Printf("waptexit: %v", err)
		return 1
	}
	return 0
}

// usageCode is the exit status of a flag parse error.
func usageCode(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}
