package loadgen

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wapt-go/wapt/server/auth"
	"github.com/wapt-go/wapt/server/client"
	"github.com/wapt-go/wapt/server/serve"
	"github.com/wapt-go/wapt/server/store"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/signing"
	"github.com/wapt-go/wapt/shared/version"
	"github.com/wapt-go/wapt/shared/wire"
)

// startServer runs an in-process server whose data directory trusts an
// admin CA and holds a viewer admin; it returns the server and a client
// signing as that admin.
func startServer(tb testing.TB) (*Server, *client.Client) {
	tb.Helper()
	ctx := context.Background()
	data := tb.TempDir()
	now := time.Now().Add(-time.Hour)
	caKey, ca, err := certs.Generate(certs.Request{CN: "admin CA", Role: certs.RoleCA, KeyType: "ecdsa", Now: now})
	must(tb, err)
	key, cert, err := certs.Generate(certs.Request{CN: "viewer", Role: certs.RoleSimple, KeyType: "ecdsa", Now: now, Issuer: ca, IssuerKey: caKey})
	must(tb, err)
	must(tb, os.MkdirAll(filepath.Join(data, serve.AdminCADir), 0o755))
	must(tb, os.WriteFile(filepath.Join(data, serve.AdminCADir, "ca.crt"), certs.EncodeCertsPEM(ca), 0o644))
	db, err := store.Open(ctx, filepath.Join(data, serve.DBFile))
	must(tb, err)
	must(tb, db.PutAdmin(ctx, auth.Admin{Name: "viewer", Fingerprint: signing.Fingerprint(cert), Rights: []string{wire.RightView}, Cert: cert}, time.Now()))
	must(tb, db.Close())

	srv, err := StartServer(ctx, ServerConfig{DataDir: data})
	must(tb, err)
	tb.Cleanup(func() {
		if err := srv.Close(); err != nil {
			tb.Errorf("server: %v", err)
		}
	})
	admin, err := client.New(client.Config{BaseURL: srv.URL, Signer: key, Cert: cert, Timeout: 10 * time.Second})
	must(tb, err)
	return srv, admin
}

// TestRun puts a small load on a real server: every host registers, every
// post is accepted, the server lists the hosts and the figures hold.
func TestRun(t *testing.T) {
	ctx := context.Background()
	srv, admin := startServer(t)
	const hosts, rate, duration = 50, 200, 2 * time.Second
	res, err := Run(ctx, Config{
		Server: srv.URL, Token: srv.Token, Hosts: hosts, Rate: rate, Duration: duration,
		Packages: 20, Workers: 16, Prefix: "lg-", Seed: 1, Warmup: true, Logf: t.Logf,
	})
	if err != nil {
		t.Fatalf("Run: %v (%+v)", err, res)
	}
	if res.Hosts != hosts || res.RegisterFailed != 0 || res.WarmupFailed != 0 || res.WarmupTime <= 0 {
		t.Errorf("registered %d hosts, %d failed, %d first reports failed in %s; want %d, 0, 0: %v", res.Hosts, res.RegisterFailed, res.WarmupFailed, res.WarmupTime, hosts, res.Errors)
	}
	if want := int(rate * duration.Seconds()); res.Scheduled != want || res.Sent != want || res.OK != want || res.Failed != 0 {
		t.Errorf("posts: scheduled %d, sent %d, ok %d, failed %d; want %d all ok: %v", res.Scheduled, res.Sent, res.OK, res.Failed, want, res.Errors)
	}
	l := res.Latency
	if !(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P95 && l.P95 <= l.P99 && l.P99 <= l.Max) {
		t.Errorf("percentiles out of order: %+v", l)
	}
	// Open-loop pacing: the run lasts about Duration, not less.
	if res.Elapsed < duration-duration/10 || res.Throughput() <= 0 {
		t.Errorf("elapsed %s, throughput %.0f/s", res.Elapsed, res.Throughput())
	}
	var out strings.Builder
	res.Print(&out)
	for _, want := range []string{"50 registered", "warm-up", "400 ok", "p50", "p99"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("Print lacks %q:\n%s", want, out.String())
		}
	}

	list, err := admin.ListHosts(ctx, client.HostQuery{Limit: hosts})
	if err != nil {
		t.Fatal(err)
	}
	if list.Total != hosts || len(list.Hosts) != hosts {
		t.Fatalf("server lists %d hosts (%d on the page), want %d", list.Total, len(list.Hosts), hosts)
	}
	for _, h := range list.Hosts {
		if !strings.HasPrefix(h.UUID, "lg-") || h.LastSeen.IsZero() || h.OS != "Windows 10 Pro" {
			t.Errorf("host %+v: want a lg- host, seen, with its OS from the host section", h)
		}
	}
	// Every host has the common packages: a software filter finds them all.
	withFirefox, err := admin.ListHosts(ctx, client.HostQuery{Package: "tis-firefox", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if withFirefox.Total != hosts {
		t.Errorf("hosts with tis-firefox: %d, want %d", withFirefox.Total, hosts)
	}
}

// TestRunRefused: a wrong token registers no host and Run says why.
func TestRunRefused(t *testing.T) {
	srv, _ := startServer(t)
	res, err := Run(context.Background(), Config{Server: srv.URL, Token: "wrong", Hosts: 3, Rate: 10, Duration: time.Second})
	if err == nil || res.Hosts != 0 || res.RegisterFailed != 3 || res.Sent != 0 {
		t.Fatalf("Run with a wrong token = %+v, %v; want an error and nothing sent", res, err)
	}
	if len(res.Errors) != 1 || !strings.HasPrefix(res.Errors[0], "3× ") {
		t.Errorf("errors %q: want one message, counted 3 times", res.Errors)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no server", Config{Token: "t", Hosts: 1}, "no server URL"},
		{"no token", Config{Server: "http://x", Hosts: 1}, "no enrollment token"},
		{"no hosts", Config{Server: "http://x", Token: "t"}, "hosts = 0"},
		{"negative rate", Config{Server: "http://x", Token: "t", Hosts: 1, Rate: -1}, "negative"},
		{"bad prefix", Config{Server: "http://x", Token: "t", Hosts: 1, Prefix: "a/b"}, "prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Run(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestHostReport: reports are valid, carry every package, and change only
// a few package states each time, like a real fleet.
func TestHostReport(t *testing.T) {
	h := newHost("H-1", 7, 50, 42, time.Unix(1e9, 0))
	names := map[string]bool{}
	for _, p := range h.packages {
		if names[p.Package] {
			t.Fatalf("package %s twice", p.Package)
		}
		names[p.Package] = true
	}
	prev := slices.Clone(h.packages)
	for i := range 200 {
		rep := h.report(time.Unix(1e9, 0).Add(time.Duration(i)*time.Minute), 2)
		if rep.UUID != "H-1" || len(rep.Packages) != 50 || rep.SectionHashes["host"] == "" {
			t.Fatalf("report %d: %+v", i, rep)
		}
		changed := 0
		for k, p := range rep.Packages {
			if p != prev[k] {
				changed++
			}
			if _, err := version.Parse(p.Version); err != nil {
				t.Fatalf("report %d: %s version %q: %v", i, p.Package, p.Version, err)
			}
			if !slices.Contains(wire.States, p.State) {
				t.Fatalf("report %d: %s state %q", i, p.Package, p.State)
			}
		}
		if changed > 2 {
			t.Fatalf("report %d: %d packages changed, want at most 2", i, changed)
		}
		prev = rep.Packages
	}
}

func TestPercentiles(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	got := percentiles(d)
	want := Latency{P50: 50 * time.Millisecond, P90: 90 * time.Millisecond, P95: 95 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}
	if got != want {
		t.Errorf("percentiles = %+v, want %+v", got, want)
	}
	if (percentiles(nil) != Latency{}) {
		t.Error("percentiles of nothing should be zero")
	}
}

// TestSchedule: posts are due at start + i/rate, and a late scheduler
// catches up in a burst instead of shifting them.
func TestSchedule(t *testing.T) {
	start := time.Now().Add(-time.Second) // a second late: 100 are due at once
	var due []time.Time
	schedule(context.Background(), 100, 120, start, func(i int, at time.Time) bool {
		due = append(due, at)
		return true
	})
	if len(due) != 120 {
		t.Fatalf("%d posts scheduled, want 120", len(due))
	}
	for i, at := range due {
		if want := start.Add(time.Duration(i) * 10 * time.Millisecond); !at.Equal(want) {
			t.Fatalf("post %d due at +%s, want +%s", i, at.Sub(start), want.Sub(start))
		}
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
