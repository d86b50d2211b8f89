package store

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wapt-go/wapt/server/inventory"
	"github.com/wapt-go/wapt/shared/version"
	"github.com/wapt-go/wapt/shared/wire"
)

const (
	benchHosts       = 100_000
	benchPkgsPerHost = 30
	benchPool        = 400 // package names hosts draw from
)

var (
	fleetOnce sync.Once
	fleetPath string
	fleetErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fleetPath != "" {
		os.RemoveAll(filepath.Dir(fleetPath))
	}
	for _, dir := range swFleetTemps {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// fleet returns the path of a database of benchHosts hosts with
// benchPkgsPerHost packages each, built once per process with bulk
// inserts: "firefox" at versions 100..129 on half of the hosts, "rare" on
// 1%, and 28-29 packages from a pool of benchPool names.
func fleet(b *testing.B) string {
	fleetOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wapt-store-bench-")
		if err != nil {
			fleetErr = err
			return
		}
		fleetPath = filepath.Join(dir, "server.sqlite")
		start := time.Now()
		fleetErr = bulkFleet(fleetPath)
		b.Logf("built %d hosts × %d packages in %v", benchHosts, benchPkgsPerHost, time.Since(start))
	})
	if fleetErr != nil {
		b.Fatal(fleetErr)
	}
	return fleetPath
}

func bulkFleet(path string) error {
	ctx := context.Background()
	d, err := Open(ctx, path)
	if err != nil {
		return err
	}
	defer d.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	statuses := []string{wire.StateOK, wire.StateOK, wire.StateOK, wire.StateNeedUpgrade, wire.StateError}
	oses := []string{"windows", "windows", "debian", "macos"}
	const batch = 5000
	for start := 0; start < benchHosts; start += batch {
		err := d.write(ctx, func(tx *sql.Tx) error {
			hs, err := tx.PrepareContext(ctx, `INSERT INTO hosts (id, uuid, fqdn, hostname, os, os_version, status, pending, errors,
				registered_at, registered_by, last_seen, last_report, cert_fingerprint, revoked, revoked_at, problems, last_update, last_upgrade)
				VALUES (?, ?, ?, ?, ?, '', ?, 0, 0, ?, 'token', ?, ?, ?, 0, NULL, '[]', 'null', 'null')`)
			if err != nil {
				return err
			}
			defer hs.Close()
			ps, err := tx.PrepareContext(ctx, `INSERT INTO host_packages (host_id, package, version, version_key, status, state, last_error, audit_status, install_date, explicit)
				VALUES (?, ?, ?, ?, 'OK', 'OK', '', '', NULL, 1)`)
			if err != nil {
				return err
			}
			defer ps.Close()
			for i := start; i < start+batch && i < benchHosts; i++ {
				uuid := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
				name := fmt.Sprintf("pc%06d", i)
				seen := formatTime(t0.Add(-time.Duration(rng.IntN(30*24)) * time.Hour))
				if _, err := hs.ExecContext(ctx, i+1, uuid, name+".example.org", name, oses[i%len(oses)], statuses[rng.IntN(len(statuses))],
					formatTime(t0), seen, seen, fmt.Sprintf("%064x", i)); err != nil {
					return err
				}
				pkgs := map[string]string{}
				if i%2 == 0 {
					pkgs["firefox"] = fmt.Sprintf("%d.0.%d-%d", 100+rng.IntN(30), rng.IntN(5), 1+rng.IntN(3))
				}
				if i%100 == 0 {
					pkgs["rare"] = "1.0-1"
				}
				for len(pkgs) < benchPkgsPerHost {
					pkgs[fmt.Sprintf("tis-pkg%03d", rng.IntN(benchPool))] = fmt.Sprintf("%d.%d-1", rng.IntN(20), rng.IntN(10))
				}
				for p, v := range pkgs {
					if _, err := ps.ExecContext(ctx, i+1, p, v, inventory.VersionKey(version.MustParse(v))); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	_, err = d.db.ExecContext(ctx, "ANALYZE")
	return err
}

// BenchmarkListHostsHasPackage runs host queries with a software filter
// over 100,000 hosts × 30 packages: one page of 50 plus the total.
func BenchmarkListHostsHasPackage(b *testing.B) {
	path := fleet(b)
	d, err := Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	svc := inventory.New(inventory.Config{Store: d})
	for _, q := range []inventory.Query{
		{HasPackage: "firefox(<115)", Limit: 50},
		{HasPackage: "firefox(=120.0)", Limit: 50},
		{HasPackage: "firefox", Limit: 50, Sort: inventory.SortLastSeen, Desc: true},
		{HasPackage: "rare", Limit: 50},
		{HasPackage: "tis-pkg007(>=10)", Status: wire.StateError, Limit: 50},
		{HasPackage: "firefox(<115)", OS: "windows", Text: "pc01", Limit: 50, Offset: 50},
		{HasPackage: "firefox(<115)", Sort: inventory.SortStatus, Desc: true, Limit: 50},
		{HasPackage: "firefox(<115)", Limit: 1000, Offset: 5000},
		{Limit: 50, Sort: inventory.SortLastSeen},
	} {
		b.Run(fmt.Sprintf("%s/%s/%s/%d", q.HasPackage, q.Sort, q.OS+q.Status+q.Text, q.Offset), func(b *testing.B) {
			var total int
			for b.Loop() {
				l, err := svc.ListHosts(context.Background(), q)
				if err != nil {
					b.Fatal(err)
				}
				total = l.Total
			}
			b.ReportMetric(float64(total), "hosts")
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
		})
	}
}
