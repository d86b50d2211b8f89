// Command wapt-selfservice is the self-service window: the software the
// logged-in user may install or remove, per the agent's self-service rules.
// The tray starts it; it talks to the agent service only through its local
// API socket (--socket, default: the system's).
package main

import (
	"flag"
	"fmt"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/wapt-go/wapt/agent/localclient"
	"github.com/wapt-go/wapt/tray/selfservice"
)

func main() {
	fs := flag.NewFlagSet("wapt-selfservice", flag.ExitOnError)
	socket := fs.String("socket", "", "the agent's local API socket or pipe (default: "+localclient.DefaultPath()+")")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: wapt-selfservice [--socket PATH]\n")
		fs.PrintDefaults()
	}
	fs.Parse(os.Args[1:])
	if fs.NArg() > 0 {
		fs.Usage()
		os.Exit(2)
	}

	app.SetMetadata(fyne.AppMetadata{
		ID: "org.waptgo.selfservice", Name: "WAPT self-service", Version: "0.1.0", Build: 1,
		Icon: selfservice.Icon, Migrations: map[string]bool{"fyneDo": true},
	})
	a := app.New()
	selfservice.NewWindow(a, localclient.New(*socket)).ShowAndRun()
}
