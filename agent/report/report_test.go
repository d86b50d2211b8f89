package report

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/wapt-go/wapt/agent/engine"
	"github.com/wapt-go/wapt/agent/store"
	"github.com/wapt-go/wapt/server/client"
	"github.com/wapt-go/wapt/shared/wire"
)

func TestBuild(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	st := engine.HostStatus{State: engine.StateError, Problems: []string{"missing dependency x"}, Packages: []engine.PackageStatus{
		{Package: "app", State: engine.StateOK, Installed: "1.0-1", Available: "1.0-1", Explicit: true},
		{Package: "lib", State: engine.StateNeedInstall, Available: "2-1"},
		{Package: "bad", State: engine.StateError, Installed: "1-1", Available: "1-1"},
	}}
	installed := []engine.Installed{
		{Package: "app", Version: "1.0-1", Status: engine.StatusOK, Explicit: true, InstallDate: now, AuditStatus: "OK"},
		{Package: "bad", Version: "1-1", Status: engine.StatusError, LastError: "boom"},
	}
	rep := Build("HOST-1", st, installed, now)
	if rep.UUID != "HOST-1" || rep.HostStatus != "ERROR" || len(rep.Problems) != 1 || len(rep.Packages) != 3 {
		t.Fatalf("report = %+v", rep)
	}
	want := map[string]wire.PackageState{
		"app": {Package: "app", Version: "1.0-1", Status: "OK", State: "OK", AuditStatus: "OK", InstallDate: now, Explicit: true},
		"bad": {Package: "bad", Version: "1-1", Status: "ERROR", State: "ERROR", LastError: "boom"},
		"lib": {Package: "lib", Version: "2-1", State: "NEED-INSTALL"},
	}
	for _, p := range rep.Packages {
		w := want[p.Package]
		if p.InstallDate.IsZero() {
			p.InstallDate = time.Time{}
		}
		if p != w {
			t.Errorf("%s = %+v, want %+v", p.Package, p, w)
		}
	}
	if err := rep.Validate(); err != nil {
		t.Errorf("built report does not validate: %v", err)
	}
}

type fakePoster struct {
	err  error
	sent []wire.StatusReport
}

func (f *fakePoster) PostStatus(_ context.Context, _ string, rep wire.StatusReport) error {
	if f.err != nil {
		return f.err
	}
	f.sent = append(f.sent, rep)
	return nil
}

func TestSenderQueuesWhileOffline(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "waptdb.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p := &fakePoster{err: errors.New("connection refused")}
	s := &Sender{Poster: p, Queue: db}
	now := time.Now()
	for i := range 3 {
		rep := wire.StatusReport{UUID: "H", Time: now.Add(time.Duration(i) * time.Minute), HostStatus: "OK"}
		if err := s.Send(ctx, rep, now); !errors.Is(err, ErrQueued) {
			t.Fatalf("offline send %d: err = %v, want ErrQueued", i, err)
		}
	}
	if q, _ := db.PendingReports(ctx, 0); len(q) != 3 {
		t.Fatalf("queued = %d, want 3", len(q))
	}
	// Back online: queued reports go first, oldest first, then the new one.
	p.err = nil
	if err := s.Send(ctx, wire.StatusReport{UUID: "H", Time: now.Add(time.Hour), HostStatus: "OK"}, now); err != nil {
		t.Fatal(err)
	}
	if len(p.sent) != 4 || !p.sent[0].Time.Before(p.sent[1].Time) || !p.sent[2].Time.Before(p.sent[3].Time) {
		t.Errorf("sent %d reports, order %v", len(p.sent), p.sent)
	}
	if q, _ := db.PendingReports(ctx, 0); len(q) != 0 {
		t.Errorf("queue not emptied: %d", len(q))
	}
	// A report refused for good is not queued.
	p.err = &client.APIError{Status: 422, Code: "invalid"}
	if err := s.Send(ctx, wire.StatusReport{UUID: "H"}, now); err == nil || errors.Is(err, ErrQueued) {
		t.Errorf("refused report: err = %v", err)
	}
	if q, _ := db.PendingReports(ctx, 0); len(q) != 0 {
		t.Errorf("a refused report was queued")
	}
}
