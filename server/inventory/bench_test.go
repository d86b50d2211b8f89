package inventory_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/wire"
)

// BenchmarkIngestStatus posts status reports of 50 packages each, signed
// checks included, to the service over the real SQLite store, for 200
// hosts: "same" repeats each host's previous report (the common case),
// "changed" changes every package's version and state at each post, and
// "parallel" posts same-reports from GOMAXPROCS×4 goroutines.
func BenchmarkIngestStatus(b *testing.B) {
	const hosts = 200
	svc, _ := newService(b)
	ca := newCA(b)
	uuids := make([]string, hosts)
	certs := make([]*x509.Certificate, hosts)
	for i := range hosts {
		uuids[i] = fmt.Sprintf("host-%03d", i)
		certs[i] = register(b, svc, ca, uuids[i], map[string]string{"host": `{"os":"windows"}`})
	}
	hostHash := map[string]string{"host": sectionHash(`{"os":"windows"}`)}
	rep := func(uuid string, gen int) wire.StatusReport {
		pkgs := make([]wire.PackageState, 50)
		for j := range pkgs {
			st := wire.StateOK
			if (gen+j)%7 == 0 {
				st = wire.StateNeedUpgrade
			}
			pkgs[j] = wire.PackageState{Package: fmt.Sprintf("tis-package-%02d", j), Version: fmt.Sprintf("%d.%d.%d-1", j, gen%10, gen),
				Status: "OK", State: st, InstallDate: t0, Explicit: j%3 == 0}
		}
		r := report(uuid, pkgs...)
		r.SectionHashes = hostHash
		return r
	}
	ctx := context.Background()
	run := func(b *testing.B, changed bool) {
		i := 0
		for b.Loop() {
			h := i % hosts
			gen := 0
			if changed {
				gen = i
			}
			if err := svc.IngestStatus(ctx, uuids[h], certs[h], rep(uuids[h], gen), t0.Add(time.Duration(i))); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "posts/s")
	}
	b.Run("same", func(b *testing.B) { run(b, false) })
	b.Run("changed", func(b *testing.B) { run(b, true) })
	b.Run("parallel", func(b *testing.B) {
		var next atomic.Int64
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				h := int(next.Add(1)) % hosts
				if err := svc.IngestStatus(ctx, uuids[h], certs[h], rep(uuids[h], 0), t0); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "posts/s")
	})
}

func sectionHash(s string) string { return sec(s).Hash }

// inventorySections returns a full inventory of 7 sections for host i at
// generation gen: 300 software entries, of which 5 change version with
// each generation.
func inventorySections(i, gen int) map[string]string {
	var sw strings.Builder
	sw.WriteString("[")
	for j := range 300 {
		if j > 0 {
			sw.WriteString(",")
		}
		v := fmt.Sprintf("%d.%d.%d-%d+deb12u%d", j%7, j%13, j%29, 1+j%3, 1+j%5)
		if j < 5 {
			v = fmt.Sprintf("%d.%d-1", j, gen)
		}
		fmt.Fprintf(&sw, `{"name":"package-%03d-%s","version":%q,"publisher":"Debian Developers <debian-devel@lists.debian.org>","arch":"amd64","source":"dpkg","key":"package-%03d:amd64"}`,
			j, strings.Repeat("x", j%20), v, j)
	}
	sw.WriteString("]")
	return map[string]string{
		"host":     fmt.Sprintf(`{"hostname":"pc%d","fqdn":"pc%d.example.org","os":"linux","os_name":"Debian GNU/Linux 12 (bookworm)","os_version":"12.11","platform":"debian","kernel_version":"6.1.0-18-amd64","users":[]}`, i, i),
		"dmi":      fmt.Sprintf(`{"manufacturer":"Dell Inc.","model":"Latitude 7440","serial":"SN%06d","uuid":"%08x-1111-4000-8000-%012x"}`, i, i, i),
		"cpu":      `{"model":"Intel(R) Core(TM) i7-1365U","vendor":"GenuineIntel","physical_cores":10,"logical_cores":12}`,
		"memory":   `{"total_bytes":17179869184,"swap_total_bytes":0}`,
		"disks":    `{"partitions":[{"device":"/dev/nvme0n1p2","mountpoint":"/","fstype":"ext4","total_bytes":510000000000,"free_bytes":200000000000}]}`,
		"network":  fmt.Sprintf(`{"interfaces":[{"name":"eth0","mac":"02:00:00:00:%02x:%02x","addresses":["10.0.%d.%d/16"],"flags":["up"]}]}`, i/256, i%256, i/256, i%256),
		"software": sw.String(),
	}
}

// BenchmarkIngestInventory posts status reports carrying inventories to
// the service over the real SQLite store, for 200 hosts registered with a
// full inventory (7 sections, 300 software entries, ~60 KB): "full" sends
// all 7 sections each time (as after a 409), "delta" only the software
// section, which changed (5 versions) since the host's last report; both
// with 50 packages. "parallel" is delta from GOMAXPROCS×4 goroutines
// (group commit).
func BenchmarkIngestInventory(b *testing.B) {
	const hosts = 200
	svc, _ := newService(b)
	ca := newCA(b)
	uuids := make([]string, hosts)
	certs := make([]*x509.Certificate, hosts)
	for i := range hosts {
		uuids[i] = fmt.Sprintf("host-%03d", i)
		certs[i] = register(b, svc, ca, uuids[i], inventorySections(i, 0))
	}
	pkgs := make([]wire.PackageState, 50)
	for j := range pkgs {
		pkgs[j] = wire.PackageState{Package: fmt.Sprintf("tis-package-%02d", j), Version: fmt.Sprintf("%d.0-1", j), Status: "OK", State: wire.StateOK, InstallDate: t0}
	}
	rep := func(i, gen int, full bool) wire.StatusReport {
		r := report(uuids[i], pkgs...)
		secs := inventorySections(i, gen)
		r.SectionHashes = map[string]string{}
		r.Sections = map[string]wire.Section{}
		for name, data := range secs {
			s := sec(data)
			r.SectionHashes[name] = s.Hash
			if full || name == "software" {
				r.Sections[name] = s
			}
		}
		return r
	}
	ctx := context.Background()
	var gen atomic.Int64
	run := func(b *testing.B, full bool) {
		i := 0
		reps := make([]wire.StatusReport, 0, 64)
		for b.Loop() {
			b.StopTimer()
			h := i % hosts
			if h == 0 || len(reps) == 0 {
				g := int(gen.Add(1))
				reps = reps[:0]
				for k := range hosts {
					reps = append(reps, rep(k, g, full))
				}
			}
			b.StartTimer()
			if err := svc.IngestStatus(ctx, uuids[h], certs[h], reps[h], t0.Add(time.Duration(i))); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "posts/s")
	}
	b.Run("full", func(b *testing.B) { run(b, true) })
	b.Run("delta", func(b *testing.B) { run(b, false) })
	b.Run("parallel", func(b *testing.B) {
		// Reports prepared up front: each host gets a new generation at
		// each of its posts.
		rounds := 20
		all := make([][]wire.StatusReport, rounds)
		for r := range rounds {
			g := int(gen.Add(1))
			for k := range hosts {
				all[r] = append(all[r], rep(k, g, false))
			}
		}
		var next atomic.Int64
		b.SetParallelism(4)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n := int(next.Add(1)) - 1
				h, r := n%hosts, (n/hosts)%rounds
				if err := svc.IngestStatus(ctx, uuids[h], certs[h], all[r][h], t0); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "posts/s")
	})
}
