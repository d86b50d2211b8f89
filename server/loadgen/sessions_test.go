package loadgen

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	"github.com/wapt-go/wapt/server/serve"
)

// serveEnv makes the test binary run as a waptserver (serve.Main), so
// that the tests spawn a real server process without building one.
const serveEnv = "WAPTLOADGEN_TEST_SERVE"

func TestMain(m *testing.M) {
	if os.Getenv(serveEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := serve.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		if err != nil {
			os.Stderr.WriteString("waptserver: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serverBinary returns a path that runs as waptserver: this test binary,
// through a script that sets serveEnv (the variable must not leak into the
// tests themselves).
func serverBinary(tb testing.TB) string {
	tb.Helper()
	if runtime.GOOS == "windows" {
		tb.Skip("the spawned test server needs a shell script")
	}
	exe, err := os.Executable()
	must(tb, err)
	path := tb.TempDir() + "/waptserver"
	script := "#!/bin/sh\n" + serveEnv + "=1 exec '" + exe + "' \"$@\"\n"
	must(tb, os.WriteFile(path, []byte(script), 0o755))
	return path
}

// spawnServer starts a waptserver process whose first admin is returned.
func spawnServer(tb testing.TB) (*Spawned, Admin) {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	admin, err := PrepareAdmin(dir, time.Now())
	must(tb, err)
	var log lockedBuffer
	sp, err := SpawnServer(ctx, SpawnConfig{Path: serverBinary(tb), DataDir: dir, Log: &log})
	if err != nil {
		tb.Fatalf("spawn: %v\n%s", err, log.String())
	}
	tb.Cleanup(func() {
		if err := sp.Close(); err != nil {
			tb.Errorf("server: %v", err)
		}
		if tb.Failed() {
			tb.Logf("server output:\n%s", log.String())
		}
	})
	if sp.Token == "" || sp.BootstrapPassword == "" || !strings.HasPrefix(sp.URL, "http://127.0.0.1:") {
		tb.Fatalf("spawned server: url %q, token %q, bootstrap password %q", sp.URL, sp.Token, sp.BootstrapPassword)
	}
	must(tb, RegisterAdmin(ctx, sp.URL, nil, admin, sp.BootstrapPassword))
	return sp, admin
}

// TestSessions opens 50 uplinks on a spawned server, from two source
// addresses, sends an action to 20 of them: every session connects, every
// target gets the posted action intact and no one else gets it.
func TestSessions(t *testing.T) {
	sp, admin := spawnServer(t)
	const sessions, fanout = 50, 20
	res, err := RunSessions(context.Background(), SessionConfig{
		Server: sp.URL, Token: sp.Token, Sessions: sessions, SourceIPs: 2, Workers: 8,
		FanOut: fanout, Admin: admin, FanOutTimeout: 10 * time.Second,
		PingInterval: 50 * time.Millisecond, Hold: 300 * time.Millisecond, Settle: -1,
		ServerMem: func() (Mem, error) { return ProcMem(sp.PID) }, Logf: t.Logf,
	})
	if err != nil {
		t.Fatalf("RunSessions: %v (%+v)", err, res)
	}
	if res.Hosts != sessions || res.Sessions != sessions || res.DialFailed != 0 || res.Dropped != 0 || res.SourceIPs != 2 {
		t.Errorf("%d hosts, %d sessions (%d failed, %d dropped) over %d addresses; want %d, all up, over 2: %v",
			res.Hosts, res.Sessions, res.DialFailed, res.Dropped, res.SourceIPs, sessions, res.Errors)
	}
	f := res.FanOut
	if f == nil {
		t.Fatal("no fan-out result")
	}
	if f.Targets != fanout || f.Connected != fanout || f.Received != fanout || f.Corrupt+f.Missing+f.Extra != 0 {
		t.Errorf("fan-out %+v: want %d connected, received intact, none corrupt, missing or extra", f, fanout)
	}
	if l := f.Latency; !(0 < f.First && f.First <= l.P50 && l.P50 <= l.P99 && l.P99 <= l.Max && l.Max == f.Total) {
		t.Errorf("fan-out latency %+v, first %s, total %s", l, f.First, f.Total)
	}
	if f.ActionBytes < fanout*36 || f.FrameBytes <= f.ActionBytes {
		t.Errorf("action of %d bytes, frame of %d: want every host name (36 characters) in it", f.ActionBytes, f.FrameBytes)
	}
	if res.Pings == 0 || res.PingsFailed != 0 {
		t.Errorf("%d pings, %d failed: want pings during the hold, none failing", res.Pings, res.PingsFailed)
	}
	if runtime.GOOS == "linux" {
		if res.ServerBefore == nil || res.ServerAtSessions == nil || res.ServerAfterFanOut == nil || res.ServerAtSessions.RSS == 0 || res.Self == nil {
			t.Errorf("memory not measured: %+v %+v %+v", res.ServerBefore, res.ServerAtSessions, res.ServerAfterFanOut)
		}
	}
	var out strings.Builder
	res.Print(&out, "server")
	for _, want := range []string{"50 established, 0 failed", "20 received intact, 0 corrupt, 0 missing, 0 extra", "p99", "127.0.0.2"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("Print lacks %q:\n%s", want, out.String())
		}
	}
}

// TestMainSessions runs the command's session mode on a spawned server
// and on an in-process one.
func TestMainSessions(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"spawned", []string{"--spawn-server", serverBinary(t)}, "server:     RSS"},
		{"in-process", []string{"--self"}, "process:    RSS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut lockedBuffer
			args := append([]string{"--sessions", "12", "--fanout", "5", "--workers", "4", "--settle", "1ms"}, tt.args...)
			if err := Main(context.Background(), args, &out, &errOut); err != nil {
				t.Fatalf("Main: %v\n%s\n%s", err, out.String(), errOut.String())
			}
			for _, want := range []string{"12 established, 0 failed", "5 received intact", tt.want} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

func TestMainSessionsErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no server", []string{"--sessions", "3"}, "exactly one of"},
		{"two servers", []string{"--sessions", "3", "--self", "--server", "http://127.0.0.1:1"}, "exactly one of"},
		{"spawn without sessions", []string{"--spawn-server", "/bin/true"}, "needs --sessions"},
		{"fan-out without admin", []string{"--sessions", "3", "--fanout", "2", "--server", "http://127.0.0.1:1"}, "--admin-key"},
		{"too many files", []string{"--sessions", "100000000", "--self"}, "open files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == "open files" && runtime.GOOS == "windows" {
				t.Skip("no open file limit")
			}
			err := Main(context.Background(), tt.args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Main(%q) = %v, want an error with %q", tt.args, err, tt.want)
			}
		})
	}
}

func TestReadEqual(t *testing.T) {
	want := []byte(`{"type":"action","action":{"a":1}}`)
	tests := []struct {
		name string
		in   []byte
		same bool
	}{
		{"equal", want, true},
		{"other byte", []byte(`{"type":"action","action":{"a":2}}`), false},
		{"shorter", want[:10], false},
		{"longer", append(bytes.Clone(want), ' '), false},
		{"empty", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One byte per read: the comparison spans reads.
			same, full, err := readEqual(iotest.OneByteReader(bytes.NewReader(tt.in)), want, make([]byte, 4))
			if err != nil || same != tt.same {
				t.Fatalf("readEqual = %v, %v; want %v", same, err, tt.same)
			}
			if !same && !bytes.Equal(full, tt.in) {
				t.Errorf("full = %q, want the frame %q", full, tt.in)
			}
		})
	}
	_, _, err := readEqual(iotest.ErrReader(errors.New("broken")), want, make([]byte, 4))
	if err == nil {
		t.Error("a read error is not reported")
	}
}

// TestFrameOtherFraming: a frame that frames the posted action otherwise
// still counts as intact; one whose action differs is corrupt.
func TestFrameOtherFraming(t *testing.T) {
	posted := []byte(`{"action":{"nonce":"n"},"signature":"s"}`)
	r := &sessionRun{errs: &errorSamples{}, allIn: make(chan struct{})}
	r.expect.Store(&expectation{frame: []byte(`{"type":"action","action":` + string(posted) + `}`), posted: posted})
	r.pending.Store(2)
	a, b := &session{uuid: "a", run: r}, &session{uuid: "b", run: r}
	a.target.Store(true)
	b.target.Store(true)
	r.frame(a, strings.NewReader(`{"action":`+string(posted)+`, "type":"action"}`))
	r.frame(b, strings.NewReader(`{"type":"action","action":{"action":{"nonce":"m"},"signature":"s"}}`))
	r.frame(a, strings.NewReader(`{"type":"status"}`))
	if a.got.Load() == 0 || b.got.Load() == 0 || r.corrupt.Load() != 1 || r.other.Load() != 1 || r.pending.Load() != 0 {
		t.Errorf("got %d %d, corrupt %d, other %d, pending %d; want both arrived, 1 corrupt, 1 other, none pending",
			a.got.Load(), b.got.Load(), r.corrupt.Load(), r.other.Load(), r.pending.Load())
	}
	select {
	case <-r.allIn:
	default:
		t.Error("allIn not closed")
	}
}

func TestBanner(t *testing.T) {
	var log bytes.Buffer
	b := newBanner(&log)
	text := "waptserver: created the host CA ...\n" +
		"waptserver: bootstrap admin password (registers the first admin certificate only; shown only now): pw-123\n" +
		"waptserver: enrollment token (shown only now; only its SHA-256 is kept in /d/pki/enrollment.sha256): tok-456\r\n" +
		"waptserver: repository /d/wapt\nwaptserver: serving http://127.0.0.1:4321/wapt/ (Ctrl-C to stop)\nlater\n"
	for _, c := range []byte(text) { // byte by byte: lines span writes
		if _, err := b.Write([]byte{c}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-b.ready:
	default:
		t.Fatal("not ready after the serving line")
	}
	if u, tok, pw := b.values(); u != "http://127.0.0.1:4321" || tok != "tok-456" || pw != "pw-123" {
		t.Errorf("values = %q, %q, %q", u, tok, pw)
	}
	if log.String() != text {
		t.Errorf("log = %q, want every byte", log.String())
	}
}

func TestParseProcStatus(t *testing.T) {
	m, err := parseProcStatus([]byte("Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t    1024 kB\nRssAnon:\t 768 kB\nRssFile:\t 256 kB\nThreads:\t3\n"))
	if err != nil || m != (Mem{RSS: 1 << 20, HWM: 2 << 20, Anon: 768 << 10, File: 256 << 10}) {
		t.Errorf("parseProcStatus = %+v, %v", m, err)
	}
	if _, err := parseProcStatus([]byte("Name:\tx\n")); err == nil {
		t.Error("no error without VmRSS")
	}
	self, err := ProcMem(0)
	switch {
	case runtime.GOOS != "linux":
		if !errors.Is(err, ErrNoProcMem) {
			t.Errorf("ProcMem(0) = %v, want ErrNoProcMem", err)
		}
	case err != nil || self.RSS == 0 || self.HWM < self.RSS:
		t.Errorf("ProcMem(0) = %+v, %v", self, err)
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
