package inventory_test

import (
	"context"
	"crypto/x509"
	"fmt"
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
