package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wapt-go/wapt/agent/engine"
)

// openTest opens a fresh database in a temporary directory.
func openTest(tb testing.TB) *DB {
	tb.Helper()
	d, err := Open(context.Background(), filepath.Join(tb.TempDir(), "sub", "waptdb.sqlite"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 891011121, time.UTC)

// fullInstalled is a record with every field set, all derived from gen.
func fullInstalled(name string, gen int) engine.Installed {
	g := fmt.Sprint(gen)
	return engine.Installed{
		Package:       name,
		Version:       g,
		Architecture:  "x64-" + g,
		Maturity:      "PROD-" + g,
		Locale:        "fr-" + g,
		Section:       "base-" + g,
		Repo:          "wapt-" + g,
		Status:        engine.StatusOK,
		Explicit:      gen%2 == 0,
		InstallDate:   t0.Add(time.Duration(gen) * time.Second),
		UpdateDate:    t0.Add(time.Duration(gen) * time.Minute),
		Output:        strings.Repeat("out-"+g+"\n", 1000),
		LastError:     "err-" + g,
		Retries:       gen % 7,
		Control:       "package: " + name + "\nversion: " + g + "\n",
		SetupPy:       []byte("def install():\n    print('" + g + "')\n"),
		UninstallKeys: []string{"{key-" + g + "}", "pkg-" + g},
		Params:        map[string]string{"gen": g, "name": name},
		PersistentDir: "/var/lib/wapt/persistent/" + g,
		AuditStatus:   "WARNING",
		AuditOutput:   "audit-" + g,
		LastAudit:     t0.Add(time.Duration(gen) * time.Hour),
		NextAudit:     t0.Add(time.Duration(gen+1) * time.Hour),
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "waptdb.sqlite")
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if runtime.GOOS != "windows" {
		for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("%s: mode %v, want %v", p, got, want)
			}
		}
	}
	for pragma, want := range map[string]string{
		"journal_mode": "wal", "foreign_keys": "1", "synchronous": "2", "busy_timeout": "10000",
	} {
		var got string
		if err := d.db.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %q, want %q", pragma, got, want)
		}
	}
	if v, err := d.SchemaVersion(ctx); err != nil || v != knownMigrations(t) {
		t.Errorf("SchemaVersion = %d, %v; want %d", v, err, knownMigrations(t))
	}

	for _, bad := range []string{"", ":memory:", "file:x.db", filepath.Join(dir, "x?mode=ro")} {
		if d, err := Open(ctx, bad); err == nil {
			d.Close()
			t.Errorf("Open(%q) succeeded", bad)
		}
	}
}

func TestOpenTightensMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("unix permissions")
	}
	path := filepath.Join(t.TempDir(), "waptdb.sqlite")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestOpenNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "waptdb.sqlite")
	if err := os.WriteFile(path, []byte(strings.Repeat("this is not sqlite\n", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	if d, err := Open(context.Background(), path); err == nil {
		d.Close()
		t.Fatal("Open of a non-database succeeded")
	}
}

func TestInstalled(t *testing.T) {
	ctx := context.Background()
	long := strings.Repeat("é", MaxOutput) // 2 bytes each: twice the bound
	tests := []struct {
		name    string
		puts    []engine.Installed
		get     string
		want    engine.Installed
		wantErr error // from GetInstalled
		putErr  bool  // the last put fails
	}{
		{
			name: "every field round-trips",
			puts: []engine.Installed{fullInstalled("firefox", 3)},
			get:  "firefox",
			want: fullInstalled("firefox", 3),
		},
		{
			name: "zero values round-trip",
			puts: []engine.Installed{{Package: "z", Status: engine.StatusError}},
			get:  "z",
			want: engine.Installed{Package: "z", Status: engine.StatusError},
		},
		{
			name: "replace overwrites every field",
			puts: []engine.Installed{fullInstalled("vlc", 1), {Package: "vlc", Status: engine.StatusRemoving}},
			get:  "vlc",
			want: engine.Installed{Package: "vlc", Status: engine.StatusRemoving},
		},
		{
			name:    "absent is ErrNotFound",
			get:     "nothing",
			wantErr: engine.ErrNotFound,
		},
		{name: "empty name refused", puts: []engine.Installed{{Status: engine.StatusOK}}, putErr: true},
		{name: "empty status refused", puts: []engine.Installed{{Package: "x"}}, putErr: true},
		{name: "negative retries refused", puts: []engine.Installed{{Package: "x", Status: engine.StatusOK, Retries: -1}}, putErr: true},
		{
			name: "outputs keep their last MaxOutput bytes",
			puts: []engine.Installed{{Package: "big", Status: engine.StatusOK, Output: long + "END", AuditOutput: "A" + long}},
			get:  "big",
			want: engine.Installed{Package: "big", Status: engine.StatusOK, Output: bound(long + "END"), AuditOutput: bound("A" + long)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := openTest(t)
			for i, in := range tt.puts {
				err := d.PutInstalled(ctx, in)
				if last := i == len(tt.puts)-1; last && tt.putErr {
					if err == nil {
						t.Fatal("PutInstalled succeeded, want error")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			got, err := d.GetInstalled(ctx, tt.get)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("GetInstalled error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("GetInstalled =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestBound(t *testing.T) {
	long := strings.Repeat("é", MaxOutput)
	for _, s := range []string{"", "short", strings.Repeat("x", MaxOutput), long + "END", "A" + long} {
		b := bound(s)
		if len(b) > MaxOutput {
			t.Errorf("bound: %d bytes", len(b))
		}
		if !utf8.ValidString(b) {
			t.Error("bound: invalid UTF-8")
		}
		if len(s) <= MaxOutput && b != s {
			t.Error("bound changed a short string")
		}
		if len(s) > MaxOutput && (!strings.HasPrefix(b, truncatedMark) || !strings.HasSuffix(s, b[len(truncatedMark):])) {
			t.Error("bound did not keep the end")
		}
	}
}

func TestListAndDeleteInstalled(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	if l, err := d.ListInstalled(ctx); err != nil || len(l) != 0 {
		t.Fatalf("empty ListInstalled = %v, %v", l, err)
	}
	for i, n := range []string{"c", "a", "b"} {
		if err := d.PutInstalled(ctx, fullInstalled(n, i)); err != nil {
			t.Fatal(err)
		}
	}
	l, err := d.ListInstalled(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 3 || l[0].Package != "a" || l[1].Package != "b" || l[2].Package != "c" {
		t.Fatalf("ListInstalled order: %+v", l)
	}
	if !reflect.DeepEqual(l[0], fullInstalled("a", 1)) {
		t.Errorf("ListInstalled[0] = %+v", l[0])
	}
	for _, n := range []string{"b", "b", "never"} {
		if err := d.DeleteInstalled(ctx, n); err != nil {
			t.Errorf("DeleteInstalled(%q): %v", n, err)
		}
	}
	if _, err := d.GetInstalled(ctx, "b"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("deleted b: %v", err)
	}
	if l, _ := d.ListInstalled(ctx); len(l) != 2 {
		t.Errorf("after delete: %d records", len(l))
	}
}

func TestRepairInterrupted(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.FixedZone("CET", 3600))
	recs := map[string]engine.Status{
		"ok": engine.StatusOK, "err": engine.StatusError,
		"inst": engine.StatusInstalling, "rem": engine.StatusRemoving,
	}
	for n, s := range recs {
		in := fullInstalled(n, 2)
		in.Status = s
		if err := d.PutInstalled(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	names, err := d.RepairInterrupted(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(names, []string{"inst", "rem"}) {
		t.Fatalf("RepairInterrupted = %v", names)
	}
	tests := []struct {
		name, lastError string
		status          engine.Status
		retries         int
	}{
		{"ok", "err-2", engine.StatusOK, 2},
		{"err", "err-2", engine.StatusError, 2},
		{"inst", "interrupted during install at 2026-05-06T06:08:09Z", engine.StatusError, 3},
		{"rem", "interrupted during remove at 2026-05-06T06:08:09Z", engine.StatusError, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.GetInstalled(ctx, tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tt.status || got.LastError != tt.lastError || got.Retries != tt.retries {
				t.Errorf("got %s %q %d, want %s %q %d", got.Status, got.LastError, got.Retries, tt.status, tt.lastError, tt.retries)
			}
			want := fullInstalled(tt.name, 2)
			got.Status, got.LastError, got.Retries = want.Status, want.LastError, want.Retries
			if !reflect.DeepEqual(got, want) {
				t.Errorf("other fields changed: %+v", got)
			}
		})
	}
	if names, err := d.RepairInterrupted(ctx, now); err != nil || len(names) != 0 {
		t.Errorf("second RepairInterrupted = %v, %v", names, err)
	}
}

func repoState(repo string, version int64) engine.RepoState {
	return engine.RepoState{
		Repo: repo, URL: "https://srv/wapt", ETag: fmt.Sprintf(`"e%d"`, version),
		LastModified: "Wed, 21 Oct 2026 07:28:00 GMT", IndexVersion: version, Signed: true,
		Index: []byte(fmt.Sprintf("Package: p\nVersion: %d\n", version)), UpdatedAt: t0, IndexExpires: t0.Add(24 * time.Hour),
	}
}

func TestRepoState(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		saves   []engine.RepoState
		lastErr error // of the last save
		want    engine.RepoState
		getErr  error
	}{
		{name: "never saved", getErr: engine.ErrNotFound},
		{name: "round trip", saves: []engine.RepoState{repoState("main", 5)}, want: repoState("main", 5)},
		{
			name:  "zero values round-trip",
			saves: []engine.RepoState{{Repo: "main"}},
			want:  engine.RepoState{Repo: "main"},
		},
		{name: "higher version", saves: []engine.RepoState{repoState("main", 5), repoState("main", 6)}, want: repoState("main", 6)},
		{
			name:  "same version (304, new ETag)",
			saves: []engine.RepoState{repoState("main", 5), func() engine.RepoState { s := repoState("main", 5); s.ETag = "new"; return s }()},
			want:  func() engine.RepoState { s := repoState("main", 5); s.ETag = "new"; return s }(),
		},
		{
			name:    "lower version refused",
			saves:   []engine.RepoState{repoState("main", 7), repoState("main", 6)},
			lastErr: ErrRollback,
			want:    repoState("main", 7),
		},
		{
			name:    "unsigned zero after signed refused",
			saves:   []engine.RepoState{repoState("main", 7), {Repo: "main", URL: "http://evil"}},
			lastErr: ErrRollback,
			want:    repoState("main", 7),
		},
		{
			name:  "repositories are independent",
			saves: []engine.RepoState{repoState("main", 7), repoState("other", 1)},
			want:  repoState("main", 7),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := openTest(t)
			for i, st := range tt.saves {
				err := d.SaveRepoState(ctx, st)
				if i == len(tt.saves)-1 && tt.lastErr != nil {
					if !errors.Is(err, tt.lastErr) {
						t.Fatalf("SaveRepoState error %v, want %v", err, tt.lastErr)
					}
				} else if err != nil {
					t.Fatal(err)
				}
			}
			got, err := d.RepoState(ctx, "main")
			if tt.getErr != nil {
				if !errors.Is(err, tt.getErr) {
					t.Fatalf("RepoState error %v, want %v", err, tt.getErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("RepoState =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
	d := openTest(t)
	for _, bad := range []engine.RepoState{{}, {Repo: "x", IndexVersion: -1}} {
		if err := d.SaveRepoState(ctx, bad); err == nil {
			t.Errorf("SaveRepoState(%+v) succeeded", bad)
		}
	}
}

func TestParams(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	tests := []struct {
		name, key, set, want string
		doSet                bool
		wantErr              error
	}{
		{name: "absent", key: "uuid", wantErr: engine.ErrNotFound},
		{name: "set", key: "uuid", set: "1234", doSet: true, want: "1234"},
		{name: "overwrite", key: "uuid", set: "5678", doSet: true, want: "5678"},
		{name: "empty value", key: "e", set: "", doSet: true, want: ""},
		{name: "quotes are data", key: "k'; DROP TABLE params; --", set: "v'\"", doSet: true, want: "v'\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.doSet {
				if err := d.SetParam(ctx, tt.key, tt.set); err != nil {
					t.Fatal(err)
				}
			}
			got, err := d.Param(ctx, tt.key)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Param error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Param = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if err := d.SetParam(ctx, "", "x"); err == nil {
		t.Error("SetParam with empty key succeeded")
	}
}

func TestSessionSetup(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	rec := func(user, pkg, version string, st engine.Status) {
		t.Helper()
		if err := d.RecordSessionSetup(ctx, engine.SessionSetup{User: user, Package: pkg, Version: version,
			Status: st, Output: "out", Date: t0}); err != nil {
			t.Fatal(err)
		}
	}
	rec("alice", "firefox", "1", engine.StatusOK)
	rec("bob", "firefox", "1", engine.StatusError)
	rec("carol", "firefox", "1", engine.StatusOK)
	rec("carol", "firefox", "2", engine.StatusOK) // replaces version 1
	tests := []struct {
		user, pkg, version string
		want               bool
	}{
		{"alice", "firefox", "1", true},
		{"alice", "firefox", "2", false},
		{"alice", "vlc", "1", false},
		{"bob", "firefox", "1", false}, // failed: run again
		{"carol", "firefox", "1", false},
		{"carol", "firefox", "2", true},
		{"dave", "firefox", "1", false},
	}
	for _, tt := range tests {
		t.Run(tt.user+"/"+tt.pkg+"/"+tt.version, func(t *testing.T) {
			got, err := d.SessionSetupDone(ctx, tt.user, tt.pkg, tt.version)
			if err != nil || got != tt.want {
				t.Errorf("SessionSetupDone = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	if err := d.RecordSessionSetup(ctx, engine.SessionSetup{Package: "x"}); err == nil {
		t.Error("RecordSessionSetup without user succeeded")
	}
	if err := d.RecordSessionSetup(ctx, engine.SessionSetup{User: "u", Package: "big", Version: "1",
		Status: engine.StatusOK, Output: strings.Repeat("x", 2*MaxOutput)}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := d.db.QueryRow("SELECT length(output) FROM session_setup WHERE package = 'big'").Scan(&n); err != nil || n > MaxOutput {
		t.Errorf("session output length %d, %v", n, err)
	}
}

func TestReports(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	if r, err := d.PendingReports(ctx, 10); err != nil || len(r) != 0 {
		t.Fatalf("empty PendingReports = %v, %v", r, err)
	}
	for i := range 5 {
		if err := d.QueueReport(ctx, fmt.Sprintf("k%d", i), []byte{byte(i), 0, 'x'}, t0.Add(time.Duration(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.QueueReport(ctx, "empty", nil, t0); err != nil {
		t.Fatal(err)
	}
	if err := d.QueueReport(ctx, "", nil, t0); err == nil {
		t.Error("QueueReport with empty kind succeeded")
	}
	tests := []struct {
		name  string
		limit int
		kinds []string
	}{
		{"limit", 2, []string{"k0", "k1"}},
		{"all (0)", 0, []string{"k0", "k1", "k2", "k3", "k4", "empty"}},
		{"all (-1)", -1, []string{"k0", "k1", "k2", "k3", "k4", "empty"}},
		{"above count", 100, []string{"k0", "k1", "k2", "k3", "k4", "empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := d.PendingReports(ctx, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, x := range r {
				kinds = append(kinds, x.Kind)
			}
			if !reflect.DeepEqual(kinds, tt.kinds) {
				t.Errorf("kinds %v, want %v", kinds, tt.kinds)
			}
		})
	}
	r, _ := d.PendingReports(ctx, 0)
	if want := (engine.Report{ID: r[1].ID, Kind: "k1", Body: []byte{1, 0, 'x'}, Created: t0.Add(1)}); !reflect.DeepEqual(r[1], want) {
		t.Errorf("report = %+v, want %+v", r[1], want)
	}
	if r[5].Body != nil {
		t.Errorf("empty body = %v", r[5].Body)
	}
	if err := d.DeleteReports(ctx, []int64{r[0].ID, r[2].ID, 99999}); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteReports(ctx, nil); err != nil {
		t.Fatal(err)
	}
	left, _ := d.PendingReports(ctx, 0)
	if len(left) != 4 || left[0].Kind != "k1" || left[1].Kind != "k3" {
		t.Errorf("after delete: %+v", left)
	}
	// AUTOINCREMENT: ids are never reused, even after the newest is deleted.
	last := left[len(left)-1].ID
	if err := d.DeleteReports(ctx, []int64{last}); err != nil {
		t.Fatal(err)
	}
	if err := d.QueueReport(ctx, "again", nil, t0); err != nil {
		t.Fatal(err)
	}
	again, _ := d.PendingReports(ctx, 0)
	if id := again[len(again)-1].ID; id <= last {
		t.Errorf("new id %d reuses %d", id, last)
	}
}

func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, 4*n)
	for w := range 2 {
		wg.Go(func() {
			for i := range n {
				name := fmt.Sprintf("w%d-%03d", w, i)
				if err := d.PutInstalled(ctx, fullInstalled(name, i)); err != nil {
					errs <- err
				}
				if err := d.SaveRepoState(ctx, repoState(fmt.Sprintf("r%d", w), int64(i))); err != nil {
					errs <- err
				}
				if err := d.QueueReport(ctx, name, nil, t0); err != nil {
					errs <- err
				}
				if _, err := d.ListInstalled(ctx); err != nil {
					errs <- err
				}
			}
		})
	}
	// A second handle on the same file, as another process would have.
	d2, err := Open(ctx, filepath.Join(filepath.Dir(d.path(t)), "waptdb.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	wg.Go(func() {
		for i := range n {
			if err := d2.SetParam(ctx, "k", fmt.Sprint(i)); err != nil {
				errs <- err
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	l, err := d.ListInstalled(ctx)
	if err != nil || len(l) != 2*n {
		t.Errorf("ListInstalled: %d records, %v", len(l), err)
	}
	for w := range 2 {
		if st, err := d.RepoState(ctx, fmt.Sprintf("r%d", w)); err != nil || st.IndexVersion != n-1 {
			t.Errorf("repo r%d: %d, %v", w, st.IndexVersion, err)
		}
	}
	if r, _ := d.PendingReports(ctx, 0); len(r) != 2*n {
		t.Errorf("%d reports", len(r))
	}
}

// path returns the file name of the main database.
func (d *DB) path(tb testing.TB) string {
	tb.Helper()
	var seq int
	var name, file string
	if err := d.db.QueryRow("PRAGMA database_list").Scan(&seq, &name, &file); err != nil {
		tb.Fatal(err)
	}
	return file
}

func BenchmarkPutInstalled(b *testing.B) {
	ctx := context.Background()
	d := openTest(b)
	in := fullInstalled("firefox", 1)
	in.Output = strings.Repeat("x", 4096)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		in.Package = fmt.Sprintf("pkg%03d", i%500)
		if err := d.PutInstalled(ctx, in); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkListInstalled500(b *testing.B) {
	ctx := context.Background()
	d := openTest(b)
	for i := range 500 {
		in := fullInstalled(fmt.Sprintf("pkg%03d", i), i)
		in.Output = strings.Repeat("x", 4096)
		if err := d.PutInstalled(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		l, err := d.ListInstalled(ctx)
		if err != nil || len(l) != 500 {
			b.Fatal(len(l), err)
		}
	}
}
