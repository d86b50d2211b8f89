package fetch

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wapt-go/wapt/agent/engine"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/repoindex"
)

// stateOf is what the engine would store after up.
func stateOf(repo engine.Repo, up engine.IndexUpdate) engine.RepoState {
	return engine.RepoState{
		Repo: repo.Name, URL: repo.URL, ETag: up.ETag, LastModified: up.LastModified,
		IndexVersion: up.Info.Version, Signed: up.Signed, Index: up.Raw,
	}
}

func TestFetchIndexConditional(t *testing.T) {
	ctx := context.Background()
	r := newTestRepo(t, "firefox", "7zip")
	r.write(3, nil)
	srv, rec := serveRepo(t, r.dir)
	f := newFetcher(t)
	repo := engine.Repo{Name: "test", URL: srv.URL + "/wapt", Trust: testPKI(t).trust}

	up, err := f.FetchIndex(ctx, repo, engine.RepoState{}, testNow)
	wantErr(t, err, nil)
	if got := paths(rec.take()); !slices.Equal(got, []string{"/wapt/Packages", "/wapt/Packages.sig"}) {
		t.Errorf("first update requested %v", got)
	}
	if up.NotModified || !up.Signed || up.Info.Version != 3 || up.ETag == "" || up.LastModified == "" {
		t.Fatalf("first update: %+v", up)
	}
	if !bytes.Equal(up.Raw, r.read("Packages")) || len(up.Index.Entries) != 2 {
		t.Fatalf("index: %d bytes, %d entries", len(up.Raw), len(up.Index.Entries))
	}

	// Unchanged: exactly one conditional request.
	prev := stateOf(repo, up)
	up2, err := f.FetchIndex(ctx, repo, prev, testNow)
	wantErr(t, err, nil)
	reqs := rec.take()
	if len(reqs) != 1 || reqs[0].Path != "/wapt/Packages" || reqs[0].IfNoneMatch != up.ETag || reqs[0].IfModifiedSince != up.LastModified {
		t.Fatalf("unchanged update sent %+v", reqs)
	}
	if reqs[0].UserAgent != "wapt-test" {
		t.Errorf("User-Agent %q", reqs[0].UserAgent)
	}
	if !up2.NotModified || up2.Raw != nil || up2.Index != nil || up2.ETag != "" {
		t.Fatalf("unchanged update: %+v", up2)
	}

	// Changed: a new package and version 4, verified.
	r.addPackage("tis-vlc", "2")
	r.write(4, nil)
	up3, err := f.FetchIndex(ctx, repo, prev, testNow)
	wantErr(t, err, nil)
	if got := paths(rec.take()); len(got) != 2 {
		t.Errorf("changed update requested %v", got)
	}
	if up3.NotModified || up3.Info.Version != 4 || len(up3.Index.Entries) != 3 || up3.ETag == up.ETag {
		t.Fatalf("changed update: %+v", up3)
	}
}

func TestFetchIndexUnsigned(t *testing.T) {
	ctx := context.Background()
	r := newTestRepo(t, "firefox")
	r.write(-1, nil)
	srv, rec := serveRepo(t, r.dir)
	f := newFetcher(t)
	repo := engine.Repo{Name: "test", URL: srv.URL + "/wapt", Trust: testPKI(t).trust}

	_, err := f.FetchIndex(ctx, repo, engine.RepoState{}, testNow)
	wantErr(t, err, errs(engine.ErrUnprotected), srv.URL+"/wapt")

	repo.AllowUnsigned = true
	up, err := f.FetchIndex(ctx, repo, engine.RepoState{}, testNow)
	wantErr(t, err, nil)
	if up.Signed || up.Info != (repoindex.SigInfo{}) || len(up.Index.Entries) != 1 {
		t.Fatalf("compat update: %+v", up)
	}

	// Compat mode still sends a conditional GET.
	rec.take()
	up2, err := f.FetchIndex(ctx, repo, stateOf(repo, up), testNow)
	wantErr(t, err, nil)
	if !up2.NotModified || len(rec.take()) != 1 {
		t.Fatalf("unchanged unsigned update: %+v", up2)
	}

	// Compat mode turned off: the stored unsigned index is not revalidated
	// with a 304 but fetched and refused.
	repo.AllowUnsigned = false
	_, err = f.FetchIndex(ctx, repo, stateOf(repo, up), testNow)
	wantErr(t, err, errs(engine.ErrUnprotected))
	if reqs := rec.take(); reqs[0].IfNoneMatch != "" || reqs[0].IfModifiedSince != "" {
		t.Errorf("conditional request for a refused index: %+v", reqs[0])
	}

	// A repository that was signed does not lose its signature silently.
	repo.AllowUnsigned = true
	prev := stateOf(repo, up)
	prev.Signed, prev.IndexVersion, prev.ETag, prev.LastModified = true, 7, "", ""
	_, err = f.FetchIndex(ctx, repo, prev, testNow)
	wantErr(t, err, errs(engine.ErrUnprotected, engine.ErrBadRepository), "version 7")
}

func TestFetchIndexRefused(t *testing.T) {
	p := testPKI(t)
	other := newSigner(t, "Other CA", certs.RoleCA, nil)
	otherKey := newSigner(t, "Other repository", certs.RoleRepository, &other)

	tests := []struct {
		name    string
		version int64
		signer  *signer
		prev    func(r *testRepo) engine.RepoState
		now     time.Time
		want    []error
	}{
		{name: "rollback", version: 3, prev: func(*testRepo) engine.RepoState {
			return engine.RepoState{Signed: true, IndexVersion: 5, Index: []byte("older")}
		}, want: errs(engine.ErrBadRepository, repoindex.ErrRollback)},
		{name: "same version other bytes", version: 5, prev: func(*testRepo) engine.RepoState {
			return engine.RepoState{Signed: true, IndexVersion: 5, Index: []byte("other")}
		}, want: errs(engine.ErrBadRepository, repoindex.ErrRollback)},
		{name: "same version same bytes", version: 5, prev: func(r *testRepo) engine.RepoState {
			return engine.RepoState{Signed: true, IndexVersion: 5, Index: r.read("Packages")}
		}},
		{name: "expired", version: 3, now: testNow.Add(48 * time.Hour),
			want: errs(engine.ErrBadRepository, repoindex.ErrExpiredIndex)},
		{name: "untrusted signer", version: 3, signer: &otherKey,
			want: errs(engine.ErrBadRepository, repoindex.ErrIndexSignature)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRepo(t, "firefox")
			r.write(tt.version, tt.signer)
			srv, _ := serveRepo(t, r.dir)
			repo := engine.Repo{Name: "test", URL: srv.URL + "/wapt", Trust: p.trust}
			var prev engine.RepoState
			if tt.prev != nil {
				prev = tt.prev(r)
			}
			now := tt.now
			if now.IsZero() {
				now = testNow
			}
			up, err := newFetcher(t).FetchIndex(context.Background(), repo, prev, now)
			wantErr(t, err, tt.want, srv.URL+"/wapt")
			if err == nil && (up.Index == nil || !up.Signed) {
				t.Fatalf("accepted update: %+v", up)
			}
		})
	}
}

// TestFetchIndexMixAndMatch serves the Packages of one index with the
// Packages.sig of another: the pair is fetched twice, then refused.
func TestFetchIndexMixAndMatch(t *testing.T) {
	r := newTestRepo(t, "firefox")
	r.write(3, nil)
	oldSig := r.read("Packages.sig")
	r.addPackage("tis-evil", "1")
	r.write(4, nil)
	if err := os.WriteFile(filepath.Join(r.dir, "Packages.sig"), oldSig, 0o644); err != nil {
		t.Fatal(err)
	}
	srv, rec := serveRepo(t, r.dir)
	repo := engine.Repo{Name: "test", URL: srv.URL + "/wapt", Trust: testPKI(t).trust}
	_, err := newFetcher(t).FetchIndex(context.Background(), repo, engine.RepoState{}, testNow)
	wantErr(t, err, errs(engine.ErrBadRepository, repoindex.ErrIndexSignature), "signed size")
	if got := paths(rec.take()); len(got) != 4 {
		t.Errorf("requests %v, want the pair twice", got)
	}
}

// TestFetchIndexRace rewrites the index between the two GETs: the second
// pair is consistent and accepted.
func TestFetchIndexRace(t *testing.T) {
	r := newTestRepo(t, "firefox")
	r.write(3, nil)
	srv, rec := serveRepo(t, r.dir)
	fs := srv.Config.Handler
	var rewritten atomic.Bool
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasSuffix(req.URL.Path, "/Packages.sig") && !rewritten.Swap(true) {
			r.addPackage("tis-new", "1")
			r.write(4, nil)
		}
		fs.ServeHTTP(w, req)
	})
	repo := engine.Repo{Name: "test", URL: srv.URL + "/wapt", Trust: testPKI(t).trust}
	up, err := newFetcher(t).FetchIndex(context.Background(), repo, engine.RepoState{}, testNow)
	wantErr(t, err, nil)
	if up.Info.Version != 4 || len(up.Index.Entries) != 2 {
		t.Fatalf("update: version %d, %d entries", up.Info.Version, len(up.Index.Entries))
	}
	if reqs := rec.take(); len(reqs) != 4 || reqs[2].IfNoneMatch != "" {
		t.Errorf("requests %+v", reqs)
	}
}

func TestFetchIndexErrors(t *testing.T) {
	big := strings.Repeat("secret body ", 10000)
	srv, _ := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch {
		case strings.HasPrefix(req.URL.Path, "/missing/"):
			http.NotFound(w, req)
		case strings.HasPrefix(req.URL.Path, "/denied/"):
			http.Error(w, "no", http.StatusForbidden)
		case strings.HasPrefix(req.URL.Path, "/huge/"):
			w.Write(bytes.Repeat([]byte("x"), 2000))
		default:
			http.Error(w, big, http.StatusInternalServerError)
		}
	}))
	f := New(Config{MaxIndexSize: 1000})
	for _, tt := range []struct {
		path string
		want []error
		frag string
	}{
		{"/missing", errs(engine.ErrNotFound), "404"},
		{"/denied", errs(errAny), "access denied"},
		{"/huge", errs(engine.ErrBadRepository, repoindex.ErrBadIndex), "larger than 1000"},
		{"/broken", errs(errAny), "HTTP 500"},
	} {
		repo := engine.Repo{Name: "test", URL: srv.URL + tt.path + "/", Trust: testPKI(t).trust}
		_, err := f.FetchIndex(context.Background(), repo, engine.RepoState{}, testNow)
		if err == nil {
			t.Fatalf("%s: no error", tt.path)
		}
		wantErr(t, err, tt.want, tt.frag)
		if len(err.Error()) > 300 {
			t.Errorf("%s: error of %d bytes: %.300s", tt.path, len(err.Error()), err)
		}
	}
}

func BenchmarkUpdateNotModified(b *testing.B) {
	r := newTestRepo(b, "firefox", "7zip", "vlc")
	r.write(3, nil)
	srv, _ := serveRepo(b, r.dir)
	f := New(Config{})
	repo := engine.Repo{Name: "test", URL: srv.URL + "/wapt", Trust: testPKI(b).trust}
	ctx := context.Background()
	up, err := f.FetchIndex(ctx, repo, engine.RepoState{}, testNow)
	if err != nil {
		b.Fatal(err)
	}
	prev := stateOf(repo, up)
	b.ReportAllocs()
	for b.Loop() {
		up, err := f.FetchIndex(ctx, repo, prev, testNow)
		if err != nil || !up.NotModified {
			b.Fatalf("%+v, %v", up, err)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://srv/wapt":                  "https://srv/wapt",
		"https://user:secret@srv/wapt?t=xy": "https://user:xxxxx@srv/wapt",
		"http://srv:8080/wapt-host/h.wapt":  "http://srv:8080/wapt-host/h.wapt",
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}
