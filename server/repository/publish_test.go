package repository

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/pkgfile"
	"github.com/wapt-go/wapt/shared/repoindex"
	"github.com/wapt-go/wapt/shared/signing"
)

func TestUploadPublishes(t *testing.T) {
	k := keys(t)
	cfg := testConfig(t, nil)
	r := openRepo(t, cfg)
	info0, ix0 := verifiedIndex(t, cfg) // an empty signed index is written at once
	if len(ix0.Entries) != 0 {
		t.Fatalf("new repository lists %d packages", len(ix0.Entries))
	}

	data := buildPkg(t, &k.code, spec{name: "firefox", version: "128.0-1", files: map[string]string{"setup.py": "def install():\n    pass\n"}})
	e := upload(t, r, data)
	fn := "firefox_128.0-1.wapt"
	if e.Get("filename") != fn || e.Get("size") != fmt.Sprint(len(data)) || e.Get("sha256") == "" || e.Get("md5sum") == "" {
		t.Fatalf("entry: filename %q size %q sha256 %q md5sum %q", e.Get("filename"), e.Get("size"), e.Get("sha256"), e.Get("md5sum"))
	}
	got, err := os.ReadFile(filepath.Join(cfg.Root, PublicDir, fn))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("published file: %v (same bytes: %v)", err, bytes.Equal(got, data))
	}
	info1, ix1 := verifiedIndex(t, cfg)
	if len(ix1.Entries) != 1 || ix1.Entries[0].Get("filename") != fn {
		t.Fatalf("index lists %v", ix1.Entries)
	}
	if info1.Version <= info0.Version || !info1.Expires.Equal(testNow.Add(DefaultIndexValidity)) {
		t.Errorf("sig version %d (was %d), expires %s", info1.Version, info0.Version, info1.Expires)
	}
	if ps := r.Packages(); len(ps) != 1 || ps[0].Get("sha256") != e.Get("sha256") {
		t.Errorf("Packages() = %v", ps)
	}
	if got := r.IndexVersion(); got != info1.Version {
		t.Errorf("IndexVersion = %d, want %d", got, info1.Version)
	}
	// No temporary file is left.
	for name := range tree(t, cfg.Root) {
		if strings.Contains(name, "/.upload-") || strings.Contains(name, "/.prev-") {
			t.Errorf("left over: %s", name)
		}
	}

	// Every change increases the version.
	last := info1.Version
	for i, step := range []func(){
		func() {
			upload(t, r, buildPkg(t, &k.simple, spec{name: "config-a", version: "1-1", section: "config"}))
		},
		func() {
			upload(t, r, buildPkg(t, &k.code, spec{name: "firefox", version: "128.0-1", now: testNow.Add(time.Minute)}))
		},
		func() {
			if err := r.Delete(context.Background(), "config-a_1-1.wapt"); err != nil {
				t.Fatal(err)
			}
		},
		func() {
			if err := r.Resign(context.Background()); err != nil {
				t.Fatal(err)
			}
		},
	} {
		step()
		info, _ := verifiedIndex(t, cfg)
		if info.Version <= last {
			t.Errorf("step %d: version %d, previous %d", i, info.Version, last)
		}
		last = info.Version
	}
}

func TestVersionFollowsClock(t *testing.T) {
	k := keys(t)
	clk := newClock()
	cfg := testConfig(t, clk)
	r := openRepo(t, cfg)
	clk.Advance(time.Hour)
	upload(t, r, buildPkg(t, &k.code, spec{name: "a", version: "1-1"}))
	if info, _ := verifiedIndex(t, cfg); info.Version != testNow.Add(time.Hour).Unix() {
		t.Errorf("version %d, want now (%d)", info.Version, testNow.Add(time.Hour).Unix())
	}
}

func TestHostPackage(t *testing.T) {
	k := keys(t)
	cfg := testConfig(t, nil)
	r := openRepo(t, cfg)
	before, _ := verifiedIndex(t, cfg)
	uuid := "4C4C4544-0042-3010-8052-B7C04F4E3732"
	data := buildPkg(t, &k.simple, spec{name: uuid, version: "12-1", section: "host"})
	c := upload(t, r, data)
	if c.Get("filename") != uuid+".wapt" {
		t.Errorf("filename %q", c.Get("filename"))
	}
	path, err := r.HostPackage(uuid)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(cfg.Root, HostDir, uuid+".wapt") {
		t.Errorf("HostPackage = %s", path)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, data) {
		t.Error("host package bytes differ")
	}
	if _, err := os.Stat(filepath.Join(cfg.Root, PublicDir, uuid+".wapt")); err == nil {
		t.Error("host package in wapt/")
	}
	after, ix := verifiedIndex(t, cfg)
	if len(ix.Entries) != 0 || len(r.Packages()) != 0 || after.Version != before.Version {
		t.Errorf("host package changed the index: %d entries, version %d → %d", len(ix.Entries), before.Version, after.Version)
	}
	// A newer one replaces it; an older one is refused.
	newer := buildPkg(t, &k.simple, spec{name: uuid, version: "13-1", section: "host", now: testNow.Add(time.Hour)})
	upload(t, r, newer)
	snap := tree(t, cfg.Root)
	_, err = r.Upload(context.Background(), bytes.NewReader(data), -1)
	wantErr(t, err, ErrRefused)
	sameTree(t, snap, tree(t, cfg.Root))

	for _, bad := range []string{"", "../x", "a/b", `a\b`} {
		if _, err := r.HostPackage(bad); !errors.Is(err, ErrBadPath) {
			t.Errorf("HostPackage(%q): %v", bad, err)
		}
	}
	if err := r.DeleteHost(context.Background(), uuid); err != nil {
		t.Fatal(err)
	}
	if _, err := r.HostPackage(uuid); !errors.Is(err, ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	if err := r.DeleteHost(context.Background(), uuid); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete again: %v", err)
	}
}

func TestUploadRefused(t *testing.T) {
	k := keys(t)
	good := buildPkg(t, &k.code, spec{name: "good", version: "1.0-1", files: map[string]string{"setup.py": "def install():\n    pass\n", "payload.txt": strings.Repeat("data ", 2000)}})
	small := pkgfile.DefaultLimits()
	small.MaxFileSize = int64(len(good)) - 1
	tests := []struct {
		name   string
		data   []byte
		size   int64 // 0: len(data)
		limits pkgfile.Limits
		want   error
	}{
		{name: "unsigned", data: buildPkg(t, nil, spec{name: "u", version: "1-1"}), want: signing.ErrUnsigned},
		{name: "untrusted signer", data: buildPkg(t, &k.stranger, spec{name: "u", version: "1-1"}), want: signing.ErrUntrusted},
		{name: "expired certificate", data: buildPkg(t, &k.expired, spec{name: "u", version: "1-1", now: testNow.AddDate(-1, 0, 0).Add(time.Hour)}), want: signing.ErrExpired},
		{name: "setup.py without codeSigning", data: craftSetupPy(t, k.simple), want: signing.ErrNotCodeSigning},
		{name: "not a zip", data: bytes.Repeat([]byte("not a package "), 100), want: pkgfile.ErrCorrupt},
		{name: "truncated", data: good[:len(good)/2], want: pkgfile.ErrCorrupt},
		{name: "too large, announced", data: good, limits: small, want: ErrTooLarge},
		{name: "too large, unannounced", data: good, size: -1, limits: small, want: ErrTooLarge},
		{name: "size mismatch", data: good, size: int64(len(good)) + 1},
	}
	// Byte flips over the whole file (every bit of the byte, as in
	// shared/pkgfile's byte-flip test: a single bit may fall in the unused
	// padding bits that end a deflate stream, which change no content and
	// no hash, and which the flate decoder does not expose).
	for i := 0; i < len(good); i += len(good)/25 + 1 {
		flipped := bytes.Clone(good)
		flipped[i] ^= 0xFF
		tests = append(tests, struct {
			name   string
			data   []byte
			size   int64
			limits pkgfile.Limits
			want   error
		}{name: fmt.Sprintf("byte %d flipped", i), data: flipped})
	}
	cfg := testConfig(t, nil)
	r := openRepo(t, cfg)
	upload(t, r, buildPkg(t, &k.code, spec{name: "other", version: "1-1"}))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := r
			if tt.limits != (pkgfile.Limits{}) {
				cfg := testConfig(t, nil)
				cfg.Limits = tt.limits
				r = openRepo(t, cfg)
				upload(t, r, buildPkg(t, &k.code, spec{name: "other", version: "1-1"}))
			}
			root := filepath.Dir(r.PublicPath())
			before := tree(t, root)
			size := tt.size
			if size == 0 {
				size = int64(len(tt.data))
			}
			_, err := r.Upload(context.Background(), bytes.NewReader(tt.data), size)
			wantErr(t, err, ErrRefused)
			if tt.want != nil {
				wantErr(t, err, tt.want)
			}
			sameTree(t, before, tree(t, root))
			if n := len(r.Packages()); n != 1 {
				t.Errorf("%d packages listed", n)
			}
		})
	}
}

func TestReplace(t *testing.T) {
	k := keys(t)
	cfg := testConfig(t, nil)
	r := openRepo(t, cfg)
	first := buildPkg(t, &k.code, spec{name: "tool", version: "2-1"})
	upload(t, r, first)
	newer := buildPkg(t, &k.code, spec{name: "tool", version: "2-1", now: testNow.Add(time.Hour)})
	upload(t, r, newer)
	upload(t, r, newer) // the same file again
	path := filepath.Join(cfg.Root, PublicDir, "tool_2-1.wapt")
	if got, _ := os.ReadFile(path); !bytes.Equal(got, newer) {
		t.Fatal("file not replaced")
	}
	_, ix := verifiedIndex(t, cfg)
	if len(ix.Entries) != 1 || ix.Entries[0].Get("size") != fmt.Sprint(len(newer)) {
		t.Fatalf("index after replace: %d entries", len(ix.Entries))
	}
	before := tree(t, cfg.Root)
	_, err := r.Upload(context.Background(), bytes.NewReader(first), int64(len(first)))
	wantErr(t, err, ErrRefused)
	sameTree(t, before, tree(t, cfg.Root))
}

func TestDelete(t *testing.T) {
	k := keys(t)
	cfg := testConfig(t, nil)
	r := openRepo(t, cfg)
	upload(t, r, buildPkg(t, &k.code, spec{name: "a", version: "1-1"}))
	upload(t, r, buildPkg(t, &k.code, spec{name: "b", version: "1-1"}))
	before, _ := verifiedIndex(t, cfg)
	ctx := context.Background()
	if err := r.Delete(ctx, "a_1-1.wapt"); err != nil {
		t.Fatal(err)
	}
	after, ix := verifiedIndex(t, cfg)
	files, listed := publicPackages(t, cfg, ix)
	if !slices.Equal(files, []string{"b_1-1.wapt"}) || !slices.Equal(listed, files) || after.Version <= before.Version {
		t.Errorf("after delete: files %v, listed %v, version %d → %d", files, listed, before.Version, after.Version)
	}
	if err := r.Delete(ctx, "a_1-1.wapt"); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete again: %v", err)
	}
	for _, bad := range []string{"../b_1-1.wapt", "x/y.wapt", "Packages", "Packages.sig", ""} {
		if err := r.Delete(ctx, bad); !errors.Is(err, ErrBadPath) {
			t.Errorf("Delete(%q) = %v, want ErrBadPath", bad, err)
		}
	}
	if err := r.Delete(ctx, ".prev-b_1-1.wapt"); !errors.Is(err, ErrNotFound) {
		t.Errorf("hidden name: %v", err)
	}
	// A file not indexed is just removed.
	stray := filepath.Join(cfg.Root, PublicDir, "stray.wapt")
	os.WriteFile(stray, []byte("x"), 0o644)
	v := r.IndexVersion()
	if err := r.Delete(ctx, "stray.wapt"); err != nil || r.IndexVersion() != v {
		t.Errorf("delete stray: %v, version %d → %d", err, v, r.IndexVersion())
	}
	if _, err := os.Stat(stray); err == nil {
		t.Error("stray file still there")
	}
}

func TestConcurrentUploads(t *testing.T) {
	k := keys(t)
	cfg := testConfig(t, nil)
	r := openRepo(t, cfg)
	const n = 10
	pkgs := make([][]byte, n)
	for i := range pkgs {
		pkgs[i] = buildPkg(t, &k.code, spec{name: fmt.Sprintf("pkg%d", i), version: "1-1", files: map[string]string{"f.txt": strings.Repeat("x", i*1000)}})
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			_, err := r.Upload(context.Background(), bytes.NewReader(pkgs[i]), int64(len(pkgs[i])))
			errs <- err
			if i%3 == 0 { // deletes and listings interleaved
				errs <- r.Delete(context.Background(), "nothing_1.wapt")
				_ = r.Packages()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil && !errors.Is(err, ErrNotFound) {
			t.Error(err)
		}
	}
	info, ix := verifiedIndex(t, cfg)
	files, listed := publicPackages(t, cfg, ix)
	if len(files) != n || !slices.Equal(files, listed) {
		t.Errorf("files %v, listed %v", files, listed)
	}
	if len(r.Packages()) != n || r.IndexVersion() != info.Version {
		t.Errorf("Packages() has %d, version %d vs %d", len(r.Packages()), r.IndexVersion(), info.Version)
	}
}

func TestResign(t *testing.T) {
	k := keys(t)
	clk := newClock()
	cfg := testConfig(t, clk)
	r := openRepo(t, cfg)
	upload(t, r, buildPkg(t, &k.code, spec{name: "a", version: "1-1"}))
	pkgPath := filepath.Join(cfg.Root, PublicDir, repoindex.PackagesFile)
	data, _ := os.ReadFile(pkgPath)
	st, _ := os.Stat(pkgPath)
	before, _ := verifiedIndex(t, cfg)
	clk.Advance(10 * time.Hour)
	if err := r.Resign(context.Background()); err != nil {
		t.Fatal(err)
	}
	after, ix := verifiedIndex(t, cfg)
	got, _ := os.ReadFile(pkgPath)
	st2, _ := os.Stat(pkgPath)
	if !bytes.Equal(got, data) || !st2.ModTime().Equal(st.ModTime()) || len(ix.Entries) != 1 {
		t.Error("Packages changed")
	}
	if after.Version <= before.Version || !after.Expires.Equal(before.Expires.Add(10*time.Hour)) {
		t.Errorf("version %d → %d, expires %s → %s", before.Version, after.Version, before.Expires, after.Expires)
	}
}

func TestRunResigner(t *testing.T) {
	clk := newClock()
	cfg := testConfig(t, clk)
	cfg.IndexValidity = 3 * time.Hour
	r := openRepo(t, cfg)
	r.w.checkEvery = time.Millisecond
	v0 := r.IndexVersion()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.RunResigner(ctx) }()

	clk.Advance(time.Hour + 59*time.Minute) // 61 min left: not yet
	time.Sleep(50 * time.Millisecond)
	if v := r.IndexVersion(); v != v0 {
		t.Fatalf("re-signed too early: version %d → %d", v0, v)
	}
	clk.Advance(2 * time.Minute) // 59 min left, less than a third
	deadline := time.Now().Add(5 * time.Second)
	for r.IndexVersion() == v0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	info, _ := verifiedIndex(t, cfg)
	if info.Version == v0 || !info.Expires.Equal(clk.Now().Add(3*time.Hour)) {
		t.Errorf("not re-signed: version %d, expires %s", info.Version, info.Expires)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("RunResigner: %v", err)
	}
}

func TestRestart(t *testing.T) {
	k := keys(t)
	clk := newClock()
	cfg := testConfig(t, clk)
	r, err := NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	upload(t, r, buildPkg(t, &k.code, spec{name: "a", version: "1-1"}))
	upload(t, r, buildPkg(t, &k.code, spec{name: "b", version: "1-1"}))
	r.Close()
	before := tree(t, cfg.Root)
	info, _ := verifiedIndex(t, cfg)

	r2 := openRepo(t, cfg)
	sameTree(t, before, tree(t, cfg.Root)) // nothing rewritten
	if len(r2.Packages()) != 2 || r2.IndexVersion() != info.Version {
		t.Fatalf("after restart: %d packages, version %d (was %d)", len(r2.Packages()), r2.IndexVersion(), info.Version)
	}
	upload(t, r2, buildPkg(t, &k.code, spec{name: "c", version: "1-1"}))
	info2, ix := verifiedIndex(t, cfg)
	if info2.Version <= info.Version || len(ix.Entries) != 3 {
		t.Errorf("version %d → %d, %d entries", info.Version, info2.Version, len(ix.Entries))
	}

	// An expired index is signed again at start.
	r2.Close()
	clk.Advance(DefaultIndexValidity + time.Hour)
	r3 := openRepo(t, cfg)
	info3, _ := verifiedIndex(t, cfg)
	if info3.Version <= info2.Version || r3.IndexVersion() != info3.Version {
		t.Errorf("expired index: version %d → %d", info2.Version, info3.Version)
	}
}

func TestStartupScanAndRecovery(t *testing.T) {
	k := keys(t)
	cfg := testConfig(t, nil)
	dir := filepath.Join(cfg.Root, PublicDir)
	os.MkdirAll(dir, 0o755)
	write := func(name string, data []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// No index yet: the folder is scanned; an untrusted package is left out.
	write("a_1-1.wapt", buildPkg(t, &k.code, spec{name: "a", version: "1-1"}))
	write("x_1-1.wapt", buildPkg(t, &k.stranger, spec{name: "x", version: "1-1"}))
	r := openRepo(t, cfg)
	if ps := r.Packages(); len(ps) != 1 || ps[0].Get("filename") != "a_1-1.wapt" {
		t.Fatalf("scan: %v", ps)
	}
	verifiedIndex(t, cfg)
	r.Close()
	os.Remove(filepath.Join(dir, "x_1-1.wapt"))

	// Corrupt index: scanned again.
	write(repoindex.PackagesFile, []byte("garbage"))
	r = openRepo(t, cfg)
	if len(r.Packages()) != 1 {
		t.Fatalf("rescan: %d packages", len(r.Packages()))
	}
	verifiedIndex(t, cfg)
	upload(t, r, buildPkg(t, &k.code, spec{name: "b", version: "1-1"}))
	r.Close()
	aData, _ := os.ReadFile(filepath.Join(dir, "a_1-1.wapt"))

	// Interrupted changes: an upload being received, a file set aside by
	// an upload that replaced a_1-1.wapt but did not write the index, a
	// file dropped in, a listed file removed.
	write(".upload-123", []byte("partial"))
	write(".prev-a_1-1.wapt", aData)
	write("a_1-1.wapt", buildPkg(t, &k.code, spec{name: "a", version: "1-1", now: testNow.Add(time.Hour)}))
	write("c_1-1.wapt", buildPkg(t, &k.code, spec{name: "c", version: "1-1"}))
	os.Remove(filepath.Join(dir, "b_1-1.wapt"))
	r = openRepo(t, cfg)
	_, ix := verifiedIndex(t, cfg)
	files, listed := publicPackages(t, cfg, ix)
	if want := []string{"a_1-1.wapt", "c_1-1.wapt"}; !slices.Equal(files, want) || !slices.Equal(listed, want) {
		t.Errorf("after recovery: files %v, listed %v", files, listed)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "a_1-1.wapt")); !bytes.Equal(got, aData) {
		t.Error("a_1-1.wapt not put back")
	}
	for name := range tree(t, cfg.Root) {
		if strings.Contains(name, "/.upload-") || strings.Contains(name, "/.prev-") {
			t.Errorf("left over: %s", name)
		}
	}
}

func TestIndexWriteFailure(t *testing.T) {
	k := keys(t)
	cfg := testConfig(t, nil)
	r := openRepo(t, cfg)
	old := buildPkg(t, &k.code, spec{name: "a", version: "1-1"})
	upload(t, r, old)
	upload(t, r, buildPkg(t, &k.code, spec{name: "b", version: "1-1"}))
	// Packages.sig cannot be replaced: the index write fails after
	// Packages was written.
	sigPath := filepath.Join(cfg.Root, PublicDir, repoindex.SigFile)
	sig, _ := os.ReadFile(sigPath)
	os.Remove(sigPath)
	os.MkdirAll(filepath.Join(sigPath, "block"), 0o755)
	before := tree(t, cfg.Root)
	v := r.IndexVersion()

	newA := buildPkg(t, &k.code, spec{name: "a", version: "1-1", now: testNow.Add(time.Hour)})
	for name, data := range map[string][]byte{"new package": buildPkg(t, &k.code, spec{name: "c", version: "1-1"}), "replacement": newA} {
		_, err := r.Upload(context.Background(), bytes.NewReader(data), int64(len(data)))
		if err == nil || errors.Is(err, ErrRefused) {
			t.Fatalf("%s: %v, want a write error", name, err)
		}
		sameTree(t, before, tree(t, cfg.Root))
	}
	if err := r.Delete(context.Background(), "b_1-1.wapt"); err == nil {
		t.Fatal("delete: no error")
	}
	sameTree(t, before, tree(t, cfg.Root))
	if len(r.Packages()) != 2 || r.IndexVersion() != v {
		t.Errorf("in-memory index changed: %d packages, version %d → %d", len(r.Packages()), v, r.IndexVersion())
	}

	os.RemoveAll(sigPath)
	os.WriteFile(sigPath, sig, 0o644)
	upload(t, r, newA)
	_, ix := verifiedIndex(t, cfg)
	files, listed := publicPackages(t, cfg, ix)
	if !slices.Equal(files, listed) || len(files) != 2 {
		t.Errorf("files %v, listed %v", files, listed)
	}
}

func TestReadOnly(t *testing.T) {
	r, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	if _, err := r.Upload(ctx, strings.NewReader("x"), 1); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Upload: %v", err)
	}
	if err := r.Delete(ctx, "a.wapt"); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Delete: %v", err)
	}
	if err := r.Resign(ctx); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Resign: %v", err)
	}
	if err := r.RunResigner(ctx); !errors.Is(err, ErrReadOnly) {
		t.Errorf("RunResigner: %v", err)
	}
	if r.Packages() != nil {
		t.Error("Packages() not nil")
	}
	cfg := testConfig(t, nil)
	cfg.RepoChain = keys(t).code.chain
	if _, err := NewWithConfig(ctx, cfg); err == nil {
		t.Error("key and chain mismatch accepted")
	}
}

// TestRenewedRepoCertificate: after the repository certificate is renewed
// (same key, new certificate) the next signature carries the new one.
func TestRenewedRepoCertificate(t *testing.T) {
	k := keys(t)
	clk := newClock()
	cfg := testConfig(t, clk)
	old := k.repo.cert()
	tmpl := *old
	tmpl.SerialNumber = new(big.Int).Add(old.SerialNumber, big.NewInt(1))
	tmpl.NotAfter = old.NotAfter.Add(365 * 24 * time.Hour)
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, k.repo.key.Public(), k.repo.key)
	if err != nil {
		t.Fatal(err)
	}
	renewed, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	current := cfg.RepoChain
	cfg.RepoChainNow = func() []*x509.Certificate { mu.Lock(); defer mu.Unlock(); return current }
	r := openRepo(t, cfg)
	upload(t, r, buildPkg(t, &k.code, spec{name: "a", version: "1-1"}))
	mu.Lock()
	current = []*x509.Certificate{renewed}
	mu.Unlock()
	clk.Advance(time.Hour)
	if err := r.Resign(context.Background()); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cfg.Root, PublicDir)
	data, _ := os.ReadFile(filepath.Join(dir, repoindex.PackagesFile))
	sig, _ := os.ReadFile(filepath.Join(dir, repoindex.SigFile))
	if _, err := repoindex.VerifyIndex(sig, data, signing.NewTrust(renewed), clk.Now(), DefaultRepoName, 0); err != nil {
		t.Errorf("index not signed with the renewed certificate: %v", err)
	}
	// A chain for another key is ignored: the configured one is used.
	mu.Lock()
	current = []*x509.Certificate{k.code.cert()}
	mu.Unlock()
	clk.Advance(time.Hour)
	if err := r.Resign(context.Background()); err != nil {
		t.Fatal(err)
	}
	verifiedIndex(t, cfg) // fails the test unless signed with the configured chain
}
