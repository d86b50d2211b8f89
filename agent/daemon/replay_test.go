package daemon

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/wapt-go/wapt/agent/store"
	"github.com/wapt-go/wapt/shared/action"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/signing"
	"github.com/wapt-go/wapt/shared/wire"
)

// TestReplayAfterRestart: the replay cache is the agent's database, so an
// action seen before a restart of the agent is not run again after it.
func TestReplayAfterRestart(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	caKey, ca, err := certs.Generate(certs.Request{CN: "CA", Role: certs.RoleCA, KeyType: "ecdsa", Now: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	k, c, err := certs.Generate(certs.Request{CN: "alice", KeyType: "ecdsa", Now: now.Add(-time.Hour), Issuer: ca, IssuerKey: caKey})
	if err != nil {
		t.Fatal(err)
	}
	id, raw := sign(t, admin{k, c}, action.KindAudit, []string{"host-1"}, action.Args{})
	dbPath := filepath.Join(t.TempDir(), "waptdb.sqlite")

	// run starts an agent on the database, hands it raw and returns the
	// states it reported and what its engine ran.
	run := func() ([]string, []string) {
		db, err := store.Open(ctx, dbPath)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		eng, up := &fakeEngine{}, &fakeUplink{}
		d := New(Config{Engine: eng, Uplink: up, NoStartupUpdate: true, Logf: t.Logf,
			Verifier: &action.Verifier{Trust: signing.NewTrust(ca), Host: "host-1", Nonces: db}})
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { d.Run(rctx); close(done) }()
		d.HandleAction(ctx, raw)
		states := up.waitFinal(t, id)
		cancel()
		<-done
		return states, eng.Calls()
	}
	if states, calls := run(); states[len(states)-1] != wire.ActionDone || !slices.Contains(calls, "audit") {
		t.Fatalf("first delivery: %v, engine %v", states, calls)
	}
	if states, calls := run(); !slices.Equal(states, []string{wire.ActionDuplicate}) || len(calls) != 0 {
		t.Errorf("after a restart: %v, engine %v: want a duplicate, nothing run", states, calls)
	}
}
