package repoindex

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/pkgfile"
)

// benchPackages is the size of the benchmark repository.
const benchPackages = 2000

// benchRepo is the benchmark repository, generated on first use and shared
// by the benchmarks of one process (building 2,000 signed packages takes
// seconds); TestMain removes it. Plain `go test` never creates it.
var benchRepo struct {
	once   sync.Once
	dir    string
	signer signer
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchRepo.dir != "" {
		os.RemoveAll(benchRepo.dir)
	}
	os.Exit(code)
}

// benchRepository returns the directory of 2,000 small packages signed with
// an RSA-2048 code-signing certificate (like a WAPT admin key), their
// modification times one hour back so that the scan cache may keep them.
func benchRepository(b *testing.B) (string, signer) {
	b.Helper()
	benchRepo.once.Do(func() {
		start := time.Now()
		dir, err := os.MkdirTemp("", "repoindex-bench-")
		if err != nil {
			benchRepo.err = err
			return
		}
		benchRepo.dir = dir
		benchRepo.signer = newSignerKey(b, "bench admin", certs.RoleCodeSigning, nil, "rsa")
		src, err := os.MkdirTemp("", "repoindex-bench-src-")
		if err != nil {
			benchRepo.err = err
			return
		}
		defer os.RemoveAll(src)
		var wg sync.WaitGroup
		errs := make(chan error, benchPackages)
		work := make(chan int)
		old := time.Now().Add(-time.Hour)
		for range 2 {
			wg.Go(func() {
				for i := range work {
					p, err := buildPkgErr(src, dir, &benchRepo.signer, benchSpec("bench-pkg", i))
					if err == nil {
						err = os.Chtimes(p, old, old)
					}
					if err != nil {
						errs <- err
					}
				}
			})
		}
		for i := range benchPackages {
			work <- i
		}
		close(work)
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			benchRepo.err = err
			return
		}
		b.Logf("generated %d signed packages in %v", benchPackages, time.Since(start).Round(time.Millisecond))
	})
	if benchRepo.err != nil {
		b.Fatal(benchRepo.err)
	}
	return benchRepo.dir, benchRepo.signer
}

// benchSpec is a small package: control, a setup.py and a 1 KiB payload.
func benchSpec(prefix string, i int) pkgSpec {
	return pkgSpec{
		name:    fmt.Sprintf("%s-%04d", prefix, i),
		version: fmt.Sprintf("1.%d-1", i%7),
		extra:   map[string]string{"maintainer": "bench", "description_fr": "paquet de test numéro " + fmt.Sprint(i)},
		files: map[string]string{
			"setup.py":     "# -*- coding: utf-8 -*-\nfrom setuphelpers import *\n\ndef install():\n    print('installing')\n",
			"data/payload": fmt.Sprintf("%01024d", i),
		},
	}
}

// BenchmarkScan2000 is a full scan (no previous index: every file opened,
// parsed and hashed) of 2,000 small signed packages.
func BenchmarkScan2000(b *testing.B) {
	dir, _ := benchRepository(b)
	ctx := context.Background()
	n := 0
	for b.Loop() {
		ix, rep, err := Scan(ctx, dir, nil, ScanOptions{})
		if err != nil || len(ix.Entries) != benchPackages || len(rep.Errors) != 0 {
			b.Fatalf("scan: %v, %v", rep.Errors, err)
		}
		n++
	}
	b.ReportMetric(float64(benchPackages*n)/b.Elapsed().Seconds(), "pkgs/s")
}

// BenchmarkScan2000Incremental rescans the unchanged repository with the
// previous index and the cache: no package file is opened.
func BenchmarkScan2000Incremental(b *testing.B) {
	dir, _ := benchRepository(b)
	ctx := context.Background()
	prev, _, err := Scan(ctx, dir, nil, ScanOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		ix, rep, err := Scan(ctx, dir, prev, ScanOptions{})
		if err != nil || len(ix.Entries) != benchPackages || len(rep.Kept) != benchPackages {
			b.Fatalf("scan: %d entries, %d kept, %v", len(ix.Entries), len(rep.Kept), err)
		}
	}
}

// BenchmarkAdd1To2000 adds one new package to the 2,000-entry index as a
// server does on upload: read and parse Packages, Add (open, hash), then
// WriteFiles (Packages + Packages.sig signed with RSA-2048). Building the
// new package is not timed.
func BenchmarkAdd1To2000(b *testing.B) {
	dir, s := benchRepository(b)
	ctx := context.Background()
	ix, _, err := Scan(ctx, dir, nil, ScanOptions{})
	if err != nil {
		b.Fatal(err)
	}
	out, incoming := b.TempDir(), b.TempDir()
	repoKey := newSignerKey(b, "bench repository", certs.RoleRepository, nil, "rsa")
	info := SigInfo{Repo: "wapt", Version: 1, Issued: testNow, Expires: testNow.Add(24 * time.Hour)}
	if err := WriteFiles(out, ix, &info, repoKey.key, repoKey.chain); err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		p := buildPkg(b, incoming, &s, benchSpec("bench-new", i))
		b.StartTimer()

		data, err := os.ReadFile(filepath.Join(out, PackagesFile))
		if err != nil {
			b.Fatal(err)
		}
		ix, err := Parse(data, 0)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ix.Add(ctx, p, pkgfile.DefaultLimits()); err != nil {
			b.Fatal(err)
		}
		info.Version++
		if err := WriteFiles(out, ix, &info, repoKey.key, repoKey.chain); err != nil {
			b.Fatal(err)
		}
		if len(ix.Entries) != benchPackages+i+1 {
			b.Fatalf("%d entries", len(ix.Entries))
		}
	}
	b.StopTimer()
	if fi, err := os.Stat(filepath.Join(out, PackagesFile)); err == nil {
		b.ReportMetric(float64(fi.Size()), "index-bytes")
	}
}
