package repository

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/signing"
)

// BenchmarkUploadInto2000 uploads one package into a repository of 2,000
// packages: receive, strict open, full verification, move into place,
// incremental index update, Packages written and Packages.sig signed.
// Packages and repository are signed with RSA-2048 keys, like WAPT's.
func BenchmarkUploadInto2000(b *testing.B) {
	admin := newSigner(b, "bench admin", certs.RoleCodeSigning, nil, "rsa", testNow.AddDate(-1, 0, 0), 0)
	repoKey := newSigner(b, "bench repository", certs.RoleRepository, nil, "rsa", testNow.AddDate(-1, 0, 0), 0)
	root := b.TempDir()
	dir := filepath.Join(root, PublicDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	work := b.TempDir()
	jobs := make(chan int)
	errs := make(chan error, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range jobs {
				p := spec{name: fmt.Sprintf("bench-pkg-%04d", i), version: "1.0-1", files: map[string]string{
					"setup.py": "def install():\n    pass\n", "data.txt": fmt.Sprintf("payload %d\n", i),
				}}
				data, err := buildPkgErr(work, &admin, p)
				if err == nil {
					err = os.WriteFile(filepath.Join(dir, fmt.Sprintf("bench-pkg-%04d_1.0-1.wapt", i)), data, 0o644)
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for i := range 2000 {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	cfg := Config{
		Root: root, Trust: signing.NewTrust(admin.cert()), RepoSigner: repoKey.key, RepoChain: repoKey.chain,
		Now: newClock().Now,
	}
	r, err := NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	if n := len(r.Packages()); n != 2000 {
		b.Fatalf("%d packages indexed", n)
	}
	data := buildPkg(b, &admin, spec{name: "bench-new", version: "2.0-1", files: map[string]string{
		"setup.py": "def install():\n    pass\n", "data.bin": string(bytes.Repeat([]byte("0123456789abcdef"), 64<<10)),
	}})
	ctx := context.Background()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := r.Upload(ctx, bytes.NewReader(data), int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if n := len(r.Packages()); n != 2001 {
		b.Fatalf("%d packages indexed", n)
	}
	st, _ := os.Stat(filepath.Join(dir, "Packages"))
	b.ReportMetric(float64(st.Size()), "index-bytes")
}
