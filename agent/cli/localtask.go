package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/wapt-go/wapt/agent/config"
	"github.com/wapt-go/wapt/agent/localclient"
	"github.com/wapt-go/wapt/shared/wire"
)

// serviceVerbs are the endpoint verbs the running waptagent does for
// wapt-get (the service owns the database while it runs).
var serviceVerbs = map[string]string{
	"update": wire.LocalKindUpdate, "upgrade": wire.LocalKindUpgrade, "install": wire.LocalKindInstall,
	"remove": wire.LocalKindRemove, "audit": wire.LocalKindAudit,
}

// viaService hands verb to the waptagent service when one answers on the
// configuration's local API, and follows the task to its end; ok is false
// when no service runs (or the verb names local files): run in-process.
func viaService(ctx context.Context, env *Env, f *endpointFlags, verb string, args []string) (ok bool, err error) {
	kind, known := serviceVerbs[verb]
	if !known || env.Getenv("WAPT_NO_SERVICE") != "" {
		return false, nil
	}
	for _, a := range args {
		if strings.HasSuffix(strings.ToLower(a), ".wapt") {
			return false, nil
		}
		if fi, err := os.Stat(a); err == nil && fi.IsDir() {
			return false, nil
		}
	}
	cfg, err := config.Load(f.configPath(env))
	if err != nil {
		return false, nil // the in-process path reports it
	}
	path := cfg.LocalAPI
	if path == "" {
		path = localclient.DefaultPath()
	}
	c := localclient.New(path)
	if !c.Running(ctx) {
		return false, nil
	}
	evs, err := c.Events(ctx, 0, 0)
	if err != nil {
		return true, err
	}
	var after int64
	if len(evs) > 0 {
		after = evs[len(evs)-1].Seq
	}
	task, err := c.StartTask(ctx, wire.LocalTaskRequest{Kind: kind, Packages: args, Force: f.force})
	if err != nil {
		return true, err
	}
	fmt.Fprintf(env.Stderr, "waptagent is running: task %d (%s) handed to the service\n", task.ID, kind)
	for {
		evs, err := c.Events(ctx, after, 30*time.Second)
		if err != nil {
			return true, err
		}
		for _, e := range evs {
			after = e.Seq
			if e.Task.ID != task.ID {
				continue
			}
			switch e.Task.State {
			case wire.LocalStateRunning:
				fmt.Fprintf(env.Stderr, "running...\n")
			case wire.LocalStateDone:
				if f.json {
					return true, printJSON(env.Stdout, e.Task)
				}
				fmt.Fprintln(env.Stdout, e.Task.Message)
				return true, nil
			case wire.LocalStateError:
				if f.json {
					_ = printJSON(env.Stdout, e.Task)
				}
				return true, fmt.Errorf("%w: %s", errPartial, e.Task.Message)
			case wire.LocalStateCancelled:
				return true, fmt.Errorf("task %d cancelled", task.ID)
			}
		}
	}
}
