package cli

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wapt-go/wapt/shared/action"
	"github.com/wapt-go/wapt/shared/wire"
)

// hostActionCmd signs an action with the admin's key and has the server
// relay it to the hosts; with --wait it follows the per-host results.
func hostActionCmd(env *Env) *cobra.Command {
	var (
		sf       serverFlags
		hosts    []string
		packages []string
		force    bool
		lifetime time.Duration
		wait     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "host-action ACTION --host UUID[,UUID...] [--packages a,b] [--wait 2m]",
		Short: "Sign an action (" + strings.Join(action.Kinds, ", ") + ") and have the server relay it to hosts",
		Long: `Signs an action with your admin key (the server never signs) and sends it to the server,
which relays it to the target hosts that are connected, and to the others when they connect
before the action expires (--lifetime, at most 10 minutes). Each agent checks the signature,
your certificate's chain and role, that it is a target, the time window and that the action
was never seen before. With --wait, follows the per-host results until every host has
finished or the wait ends. Exit status 3 when some host refused the action or failed.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			hs := splitList(strings.Join(hosts, ","))
			if len(hs) == 0 {
				return usagef("host-action: --host is required")
			}
			a, err := action.New(args[0], hs, action.Args{Packages: splitList(strings.Join(packages, ",")), Force: force}, env.Now(), lifetime)
			if err != nil {
				return usagef("host-action: %v", err)
			}
			if err := sf.check(env, "host-action", true); err != nil {
				return err
			}
			c, key, chain, err := sf.connect(env, sf.key, sf.cert)
			if err != nil {
				return err
			}
			signed, err := action.Sign(a, key, chain)
			if err != nil {
				return err
			}
			raw, err := signed.Marshal()
			if err != nil {
				return err
			}
			acc, err := c.SubmitAction(cmd.Context(), raw)
			if err != nil {
				return err
			}
			if !sf.json {
				fmt.Fprintf(env.Stdout, "action %s %s sent: %d of %d hosts connected\n", a.Action, acc.ID, acc.Connected, acc.Hosts)
			}
			if wait <= 0 {
				if sf.json {
					return printJSON(env.Stdout, acc)
				}
				return nil
			}
			d, err := followAction(cmd.Context(), c.Action, acc.ID, wait)
			if err != nil {
				return err
			}
			if sf.json {
				if err := printJSON(env.Stdout, d); err != nil {
					return err
				}
			} else if err := printActionResults(env, d); err != nil {
				return err
			}
			for _, r := range d.Results {
				if r.State == wire.ActionRefused || r.State == wire.ActionError {
					return fmt.Errorf("%w: %s on %s: %s", errPartial, r.State, r.Host, r.Message)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&hosts, "host", nil, "target host uuid(s), comma-separated or repeated")
	f.StringSliceVar(&packages, "packages", nil, "packages for install, remove, forget (\"firefox\", \"firefox(>=115)\")")
	f.BoolVar(&force, "force", false, "force (reinstall, run the audit now, ...)")
	f.DurationVar(&lifetime, "lifetime", action.DefaultLifetime, "how long the action stays valid (at most 10m)")
	f.DurationVar(&wait, "wait", 0, "follow the results this long (0: do not wait)")
	sf.add(cmd, true)
	return cmd
}

// followAction polls the action until every host is in a final state or
// wait ends; it returns the last detail read.
func followAction(ctx context.Context, get func(context.Context, string) (wire.ActionDetail, error), id string, wait time.Duration) (wire.ActionDetail, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var last wire.ActionDetail
	for {
		d, err := get(ctx, id)
		if err != nil {
			if ctx.Err() != nil && last.ID != "" {
				return last, nil
			}
			return d, err
		}
		last = d
		if !slices.ContainsFunc(d.Results, func(r wire.HostActionState) bool { return !wire.ActionFinal(r.State) }) {
			return d, nil
		}
		select {
		case <-ctx.Done():
			return last, nil
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func printActionResults(env *Env, d wire.ActionDetail) error {
	tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tSTATE\tPROGRESS\tMESSAGE")
	for _, r := range d.Results {
		fmt.Fprintf(tw, "%s\t%s\t%d%%\t%s\n", r.Host, r.State, r.Progress, dash(shortLine(r.Message)))
	}
	return tw.Flush()
}

// actionsCmd lists the actions the server relayed and their results.
func actionsCmd(env *Env) *cobra.Command {
	var sf serverFlags
	var limit int
	cmd := &cobra.Command{
		Use:   "actions [ID] [--json]",
		Short: "List the actions relayed by the server (or show one, per host)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := sf.check(env, "actions", true); err != nil {
				return err
			}
			c, _, _, err := sf.connect(env, sf.key, sf.cert)
			if err != nil {
				return err
			}
			if len(args) == 1 {
				d, err := c.Action(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if sf.json {
					return printJSON(env.Stdout, d)
				}
				return printActionResults(env, d)
			}
			l, err := c.ListActions(cmd.Context(), limit)
			if err != nil {
				return err
			}
			if sf.json {
				return printJSON(env.Stdout, l)
			}
			tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RECEIVED\tACTION\tBY\tHOSTS\tID")
			for _, a := range l {
				var parts []string
				for _, st := range slices.Sorted(maps.Keys(a.Hosts)) {
					parts = append(parts, fmt.Sprintf("%s:%d", st, a.Hosts[st]))
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", formatTime(a.Received), strings.TrimSpace(a.Action+" "+strings.Join(a.Packages, ",")),
					a.Signer, strings.Join(parts, " "), a.ID)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 50, "number of actions (1..1000)")
	sf.add(cmd, true)
	return cmd
}
