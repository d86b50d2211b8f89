package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wapt-go/wapt/agent/inventory"
	"github.com/wapt-go/wapt/agent/report"
)

// ackedParam is the agent store key holding the section hashes the server
// acknowledged last (JSON object name → hash).
const ackedParam = "inventory_acked"

// collectInventory gathers this host's inventory sections.
func collectInventory(ctx context.Context) (map[string]json.RawMessage, []inventory.Section, error) {
	secs, err := inventory.Collect(ctx, inventory.Options{})
	if err != nil {
		return nil, nil, err
	}
	return inventory.Map(secs), secs, nil
}

func loadAcked(ctx context.Context, s *session) map[string]string {
	v, err := s.store.Param(ctx, ackedParam)
	if err != nil || v == "" {
		return nil
	}
	var m map[string]string
	if json.Unmarshal([]byte(v), &m) != nil {
		return nil
	}
	return m
}

func saveAcked(ctx context.Context, s *session, hashes map[string]string) error {
	b, err := json.Marshal(hashes)
	if err != nil {
		return err
	}
	return s.store.SetParam(ctx, ackedParam, string(b))
}

// postStatus builds this host's status report with its inventory — every
// section's hash, the data of the sections changed since the server last
// acknowledged them (all with full) — and sends it, or queues it when the
// server is away. A conflict (the server lacks a section) sends them all.
func postStatus(ctx context.Context, s *session, now time.Time, full bool) error {
	uuid, err := s.eng.HostUUID(ctx)
	if err != nil {
		return err
	}
	st, err := s.eng.Status(ctx)
	if err != nil {
		return err
	}
	ins, err := s.eng.Installed(ctx)
	if err != nil {
		return err
	}
	rep := report.Build(uuid, st, ins, now)
	rep.Unit = s.cfg.HostOUDN
	secs, _, err := collectInventory(ctx)
	if err != nil {
		return err
	}
	var acked map[string]string
	if !full {
		acked = loadAcked(ctx, s)
	}
	hashes := report.AddInventory(&rep, secs, acked)
	err = s.reporter.Send(ctx, rep, now)
	if report.IsConflict(err) && acked != nil {
		rep.Sections = nil
		report.AddInventory(&rep, secs, nil)
		err = s.reporter.Send(ctx, rep, now)
	}
	if err != nil {
		return err
	}
	return saveAcked(ctx, s, hashes)
}

// inventoryCmd prints the inventory this host sends to the server.
func inventoryCmd(env *Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inventory [--json]",
		Short: "Collect and print this host's hardware and software inventory (what is sent to the server)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, secs, err := collectInventory(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(env.Stdout, m)
			}
			sort.Slice(secs, func(i, j int) bool { return secs[i].Name < secs[j].Name })
			tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SECTION\tBYTES\tHASH\tERROR")
			for _, s := range secs {
				e := "-"
				if s.Err != nil {
					e = s.Err.Error()
				}
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", s.Name, len(s.Data), inventory.Hash(s.Data)[:16], e)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			var sw []inventory.Software
			if json.Unmarshal(m[inventory.SectionSoftware], &sw) == nil {
				fmt.Fprintf(env.Stdout, "\n%d software entries (--json to see everything)\n", len(sw))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the sections as JSON")
	return cmd
}
