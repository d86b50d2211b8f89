package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wapt-go/wapt/server/inventory"
	"github.com/wapt-go/wapt/shared/wire"
)

// The software-filter benchmark runs on a generated fleet: hosts × perHost
// software rows. Every host has openssl at one of 20 versions
// 3.0.0-1~deb12u1 … 3.0.19-1~deb12u1 ("openssl<3.0.10" matches half of the
// hosts), 0.1% have "rare-tool", 5% each of ten "python3-modNN" (40% have
// one at least), the rest drawn from a catalog of 5,000 names × 8 versions
// ("pkg-0000" … "pkg-4999", each on about 6% of the hosts).
const (
	catalogNames    = 5000
	catalogVersions = 8
	opensslVersions = 20
	pythonMods      = 10
	// softwareFleetGen changes when the generator does (cached files of
	// another generation are not reused).
	softwareFleetGen = 3
)

type fleetSize struct{ hosts, perHost int }

var (
	swFleetMu    sync.Mutex
	swFleets     = map[fleetSize]string{}
	swFleetTemps []string // removed by TestMain
)

// softwareFleet returns the path of a database of size, built once per
// process (and kept across runs in $WAPT_BENCH_DIR when set).
func softwareFleet(tb testing.TB, size fleetSize) string {
	tb.Helper()
	swFleetMu.Lock()
	defer swFleetMu.Unlock()
	if p, ok := swFleets[size]; ok {
		return p
	}
	name := fmt.Sprintf("software-%dx%d-g%d-%s.sqlite", size.hosts, size.perHost, softwareFleetGen, schemaHash(tb))
	dir := os.Getenv("WAPT_BENCH_DIR")
	if dir != "" {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p + ".done"); err == nil {
			tb.Logf("reusing %s", p)
			swFleets[size] = p
			return p
		}
		os.Remove(p)
		os.Remove(p + "-wal")
		os.Remove(p + "-shm")
	} else {
		var err error
		if dir, err = os.MkdirTemp("", "wapt-software-bench-"); err != nil {
			tb.Fatal(err)
		}
		swFleetTemps = append(swFleetTemps, dir)
	}
	p := filepath.Join(dir, name)
	start := time.Now()
	if err := buildSoftwareFleet(p, size); err != nil {
		tb.Fatal(err)
	}
	fi, _ := os.Stat(p)
	var mb int64
	if fi != nil {
		mb = fi.Size() >> 20
	}
	tb.Logf("built %d hosts × %d software rows (%d rows) in %v, %d MiB", size.hosts, size.perHost, size.hosts*size.perHost,
		time.Since(start).Round(time.Second), mb)
	if err := os.WriteFile(p+".done", nil, 0o600); err != nil {
		tb.Fatal(err)
	}
	swFleets[size] = p
	return p
}

// schemaHash identifies the migrations a cached database was built with.
func schemaHash(tb testing.TB) string {
	steps, err := loadSteps(migrations)
	if err != nil {
		tb.Fatal(err)
	}
	h := sha256.New()
	for _, s := range steps {
		h.Write([]byte(s.sql))
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// catalogID is the software id of catalog name n at version v.
func catalogID(n, v int) int64 {
	return int64(1 + opensslVersions + 1 + pythonMods + n*catalogVersions + v)
}

// buildSoftwareFleet writes the fleet with bulk inserts: the software
// table, the hosts, then host_software in primary-key order (host, then
// software id), in transactions of 2,000 hosts; the software → host index
// is built once at the end.
func buildSoftwareFleet(path string, size fleetSize) error {
	ctx := context.Background()
	d, err := Open(ctx, path)
	if err != nil {
		return err
	}
	defer d.Close()
	if _, err := d.db.ExecContext(ctx, "DROP INDEX host_software_software"); err != nil {
		return err
	}
	// The software table: openssl versions, rare-tool, python3 modules,
	// then the catalog.
	err = d.write(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO software (id, name, name_key, version, version_key, publisher, arch, source)
			VALUES (?, ?, ?, ?, ?, 'Debian', 'amd64', 'dpkg')`)
		if err != nil {
			return err
		}
		defer st.Close()
		add := func(id int64, name, ver string) error {
			_, err := st.ExecContext(ctx, id, name, strings.ToLower(name), ver, inventory.SoftwareVersionKey(ver))
			return err
		}
		for v := range opensslVersions {
			if err := add(int64(1+v), "openssl", fmt.Sprintf("3.0.%d-1~deb12u1", v)); err != nil {
				return err
			}
		}
		if err := add(opensslVersions+1, "rare-tool", "2.1-1"); err != nil {
			return err
		}
		for m := range pythonMods {
			if err := add(int64(opensslVersions+2+m), fmt.Sprintf("python3-mod%02d", m), fmt.Sprintf("3.11.%d-1", m)); err != nil {
				return err
			}
		}
		for n := range catalogNames {
			for v := range catalogVersions {
				if err := add(catalogID(n, v), fmt.Sprintf("pkg-%04d", n), fmt.Sprintf("1.%d.%d-%d", v, n%7, 1+v%3)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(3, 4))
	statuses := []string{wire.StateOK, wire.StateOK, wire.StateOK, wire.StateNeedUpgrade, wire.StateError}
	makers := []string{"Dell Inc.", "LENOVO", "HP", "Microsoft Corporation", "QEMU"}
	const batch = 2000
	const rowsPerStmt = 200
	values := strings.TrimSuffix(strings.Repeat("(?, ?),", rowsPerStmt), ",")
	for start := 0; start < size.hosts; start += batch {
		err := d.write(ctx, func(tx *sql.Tx) error {
			hs, err := tx.PrepareContext(ctx, `INSERT INTO hosts (id, uuid, fqdn, hostname, os, os_version, status, pending, errors,
				registered_at, registered_by, last_seen, last_report, cert_fingerprint, revoked, revoked_at, problems, last_update, last_upgrade,
				manufacturer, model, system_uuid, ram_bytes, disk_total_bytes, disk_free_bytes, facts_version)
				VALUES (?, ?, ?, ?, 'debian', '12', ?, 0, 0, ?, 'token', ?, ?, ?, 0, NULL, '[]', 'null', 'null', ?, ?, ?, ?, ?, ?, ?)`)
			if err != nil {
				return err
			}
			defer hs.Close()
			many, err := tx.PrepareContext(ctx, "INSERT INTO host_software (host_id, software_id) VALUES "+values)
			if err != nil {
				return err
			}
			defer many.Close()
			one, err := tx.PrepareContext(ctx, "INSERT INTO host_software (host_id, software_id) VALUES (?, ?)")
			if err != nil {
				return err
			}
			defer one.Close()
			ids := make([]int64, 0, size.perHost)
			args := make([]any, 0, 2*rowsPerStmt)
			for i := start; i < start+batch && i < size.hosts; i++ {
				id := int64(i + 1)
				name := fmt.Sprintf("pc%06d", i)
				seen := formatTime(t0.Add(-time.Duration(rng.IntN(30*24)) * time.Hour))
				sysUUID := fmt.Sprintf("%08x-1111-4000-8000-%012x", i, i)
				if i%200 == 1 { // 0.5% cloned: same system UUID as the previous host
					sysUUID = fmt.Sprintf("%08x-1111-4000-8000-%012x", i-1, i-1)
				}
				if _, err := hs.ExecContext(ctx, id, fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i), name+".example.org", name,
					statuses[rng.IntN(len(statuses))], formatTime(t0), seen, seen, fmt.Sprintf("%064x", i),
					makers[i%len(makers)], fmt.Sprintf("model-%d", i%40), sysUUID, int64(4<<(i%4))<<30, int64(512)<<30,
					int64(rng.IntN(400))<<30, factsVersion); err != nil {
					return err
				}
				ids = ids[:0]
				ids = append(ids, int64(1+i%opensslVersions))
				if i%1000 == 0 {
					ids = append(ids, opensslVersions+1)
				}
				for m := range pythonMods {
					if len(ids) < size.perHost && rng.IntN(20) == 0 {
						ids = append(ids, int64(opensslVersions+2+m))
					}
				}
				// Distinct catalog names: a random start and stride
				// coprime with catalogNames (an odd stride not a multiple
				// of 5).
				stride := 1 + 2*rng.IntN(catalogNames/2)
				for stride%5 == 0 {
					stride = 1 + 2*rng.IntN(catalogNames/2)
				}
				n := rng.IntN(catalogNames)
				for len(ids) < size.perHost {
					ids = append(ids, catalogID(n, rng.IntN(catalogVersions)))
					n = (n + stride) % catalogNames
				}
				slices.Sort(ids)
				rest := ids
				for len(rest) >= rowsPerStmt {
					args = args[:0]
					for _, sid := range rest[:rowsPerStmt] {
						args = append(args, id, sid)
					}
					if _, err := many.ExecContext(ctx, args...); err != nil {
						return err
					}
					rest = rest[rowsPerStmt:]
				}
				for _, sid := range rest {
					if _, err := one.ExecContext(ctx, id, sid); err != nil {
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
	if _, err := d.db.ExecContext(ctx, "CREATE INDEX host_software_software ON host_software (software_id, host_id)"); err != nil {
		return err
	}
	if _, err := d.db.ExecContext(ctx, `UPDATE hosts SET duplicate_uuid =
		EXISTS (SELECT 1 FROM hosts d WHERE d.system_uuid = hosts.system_uuid AND d.revoked = 0 AND d.id <> hosts.id)`); err != nil {
		return err
	}
	if _, err := d.db.ExecContext(ctx, "ANALYZE"); err != nil {
		return err
	}
	_, err = d.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}

// softwareQueries are the benchmarked filters (one page of 50 and the
// total, as the console asks).
var softwareQueries = []struct {
	name string
	q    inventory.Query
}{
	{"common-version-half", inventory.Query{Software: "openssl<3.0.10", Limit: 50}},
	{"common-version-half-by-last-seen", inventory.Query{Software: "openssl<3.0.10", Limit: 50, Sort: inventory.SortLastSeen, Desc: true}},
	{"common-version-half-status-error", inventory.Query{Software: "openssl<3.0.10", Status: wire.StateError, Limit: 50}},
	{"common-not-equal", inventory.Query{Software: "openssl!=3.0.5", Limit: 50}},
	{"common-version-half-page-100", inventory.Query{Software: "openssl<3.0.10", Limit: 50, Offset: 5000}},
	{"rare", inventory.Query{Software: "rare-tool", Limit: 50}},
	{"catalog-name-version", inventory.Query{Software: "pkg-0042>=1.4", Limit: 50}},
	{"prefix", inventory.Query{Software: "python3*", Limit: 50}},
	{"prefix-version", inventory.Query{Software: "pkg-000*>=1.4", Limit: 50}},
	{"prefix-broad-100-names", inventory.Query{Software: "pkg-00*", Limit: 50}},
	{"software-and-ram", inventory.Query{Software: "openssl<3.0.10", RAMMax: 8 << 30, Limit: 50}},
	{"ram-below-8G", inventory.Query{RAMMax: 8<<30 - 1, Limit: 50}},
	{"duplicates", inventory.Query{Duplicates: true, Limit: 50}},
}

// BenchmarkSoftwareFilter reports p50/p95 of software-filter host queries
// over a generated fleet. hosts=100000 (300 rows per host, 30M rows) is
// skipped with -short; building it takes a few minutes (once per process,
// or once for all with $WAPT_BENCH_DIR).
func BenchmarkSoftwareFilter(b *testing.B) {
	for _, size := range []fleetSize{{1000, 300}, {100_000, 300}} {
		b.Run(fmt.Sprintf("hosts=%d/rows=%d", size.hosts, size.perHost), func(b *testing.B) {
			if size.hosts > 10_000 && testing.Short() {
				b.Skip("-short")
			}
			path := softwareFleet(b, size)
			d, err := Open(context.Background(), path)
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			svc := inventory.New(inventory.Config{Store: d})
			for _, sq := range softwareQueries {
				b.Run(sq.name, func(b *testing.B) {
					var lat []time.Duration
					var total int
					for b.Loop() {
						start := time.Now()
						l, err := svc.ListHosts(context.Background(), sq.q)
						if err != nil {
							b.Fatal(err)
						}
						lat = append(lat, time.Since(start))
						total = l.Total
					}
					slices.Sort(lat)
					pct := func(p float64) float64 {
						return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
					}
					b.ReportMetric(pct(0.50), "p50-ms")
					b.ReportMetric(pct(0.95), "p95-ms")
					b.ReportMetric(float64(total), "hosts")
				})
			}
		})
	}
}

// TestSoftwareFilterPlans runs the benchmark's queries on a tiny fleet:
// both page plans (IN and EXISTS) and the count agree with a brute force
// over every row, and the query plans use the indexes (software_name for
// the software rows, host_software_software to find their hosts, the
// EXISTS probes seek (host, software) pairs) and never scan a table.
func TestSoftwareFilterPlans(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, softwareFleet(t, fleetSize{hosts: 300, perHost: 40}))
	// Brute force: every host's software rows.
	type row struct {
		host    string
		name    string
		version []byte
	}
	var all []row
	hostUUIDs := map[string]bool{}
	rows, err := d.db.QueryContext(ctx, `SELECT h.uuid, s.name_key, s.version_key FROM host_software hs
		JOIN hosts h ON h.id = hs.host_id JOIN software s ON s.id = hs.software_id`)
	must(t, err)
	for rows.Next() {
		var r row
		must(t, rows.Scan(&r.host, &r.name, &r.version))
		all = append(all, r)
		hostUUIDs[r.host] = true
	}
	rows.Close()
	if len(hostUUIDs) != 300 || len(all) != 300*40 {
		t.Fatalf("fleet of %d hosts, %d rows", len(hostUUIDs), len(all))
	}
	for _, sq := range softwareQueries {
		if sq.q.Software == "" {
			continue
		}
		t.Run(sq.name, func(t *testing.T) {
			c, err := inventory.ParseSoftwareFilter(sq.q.Software)
			must(t, err)
			want := map[string]bool{}
			for _, r := range all {
				nameOK := r.name == c.Name || c.Prefix && strings.HasPrefix(r.name, c.Name)
				if nameOK && keyIn(c, r.version) {
					want[r.host] = true
				}
			}
			f := inventory.HostFilter{Software: &c, Sort: inventory.SortName, Limit: 1000}
			err = d.read(ctx, func(tx *sql.Tx) error {
				defer func(saved int) { maxCollect = saved }(maxCollect)
				for _, limit := range []int{maxCollect, 10} { // collected, and counted in SQL
					maxCollect = limit
					n, _, err := count(ctx, tx, f)
					if err != nil {
						return err
					}
					if n != len(want) {
						t.Errorf("count (collect limit %d) %d, want %d", limit, n, len(want))
					}
				}
				for _, form := range []pkgForm{pkgIn, pkgExists} {
					hs, err := page(ctx, tx, f, form)
					if err != nil {
						return err
					}
					got := map[string]bool{}
					for _, h := range hs {
						got[h.UUID] = true
					}
					if len(hs) != len(want) || !mapsEqual(got, want) {
						t.Errorf("form %d: %d hosts, want %d", form, len(hs), len(want))
					}
				}
				return nil
			})
			must(t, err)
			ids, args := softwareCond(c)
			s := sets(f)[0]
			for _, p := range []struct{ sql, want string }{
				{ids, "software_name"},
				{"SELECT COUNT(*) FROM (" + s.in + ")", "host_software_software"},
				// one seek per (host, software id): on either index
				{"SELECT h.uuid FROM hosts h WHERE EXISTS (" + s.exists + ") ORDER BY h.hostname LIMIT 50", "host_id=?"},
			} {
				if plan := explain(t, d, p.sql, args...); !strings.Contains(plan, p.want) || strings.Contains(plan, "SCAN hs") || strings.Contains(plan, "SCAN s") {
					t.Errorf("plan of %s does not use %s:\n%s", p.sql, p.want, plan)
				}
			}
		})
	}
}

func keyIn(c inventory.SoftwareCond, k []byte) bool {
	if c.Versions == nil {
		return true
	}
	if k == nil {
		return false
	}
	r := c.Versions
	in := (r.Lo == nil || string(k) > string(r.Lo) || r.LoIncl && string(k) == string(r.Lo)) &&
		(r.Hi == nil || string(k) < string(r.Hi) || r.HiIncl && string(k) == string(r.Hi))
	return in != c.Exclude
}

func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// explain returns the EXPLAIN QUERY PLAN of q, one step a line.
func explain(tb testing.TB, d *DB, q string, args ...any) string {
	tb.Helper()
	rows, err := d.db.Query("EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			tb.Fatal(err)
		}
		b.WriteString(detail + "\n")
	}
	return b.String()
}
