package store

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wapt-go/wapt/agent/engine"
)

// Environment of the helper process: the database path and the first
// generation it writes.
const (
	crashPathEnv = "WAPT_STORE_CRASH_DB"
	crashBaseEnv = "WAPT_STORE_CRASH_BASE"
)

const crashNames = 16 // installed records the helper cycles through

// crashInstalled is the record the helper writes at generation gen: every
// field depends on gen, so a mix of two writes is detectable.
func crashInstalled(gen int) engine.Installed {
	in := fullInstalled(fmt.Sprintf("pkg%02d", gen%crashNames), gen)
	// Large enough to span many pages, so a torn transaction would show.
	in.Output = strings.Repeat(fmt.Sprintf("output of generation %d\n", gen), 4000)
	in.Status = []engine.Status{engine.StatusOK, engine.StatusInstalling, engine.StatusError, engine.StatusRemoving}[gen%4]
	return in
}

// crashRepo is the repository state the helper writes at generation gen.
func crashRepo(gen int) engine.RepoState {
	st := repoState(fmt.Sprintf("repo%d", gen%3), int64(gen))
	st.Index = []byte(strings.Repeat(fmt.Sprintf("Package: p\nVersion: %d\n\n", gen), 3000))
	st.Signed = gen%2 == 0
	return st
}

// TestCrashHelper is the helper process of TestCrashSafety: it writes
// records in a loop, printing each committed generation, until killed.
func TestCrashHelper(t *testing.T) {
	path := os.Getenv(crashPathEnv)
	if path == "" {
		t.Skip("helper process of TestCrashSafety")
	}
	fail := func(err error) {
		fmt.Printf("error: %v\n", err)
		os.Exit(3)
	}
	base, err := strconv.Atoi(os.Getenv(crashBaseEnv))
	if err != nil {
		fail(err)
	}
	ctx := context.Background()
	d, err := Open(ctx, path)
	if err != nil {
		fail(err)
	}
	for gen := base; ; gen++ {
		if err := d.PutInstalled(ctx, crashInstalled(gen)); err != nil {
			fail(err)
		}
		fmt.Printf("I %d\n", gen)
		if err := d.SaveRepoState(ctx, crashRepo(gen)); err != nil {
			fail(err)
		}
		fmt.Printf("R %d\n", gen)
	}
}

// TestCrashSafety kills a writing process with SIGKILL at random points and
// checks that the database opens, passes integrity_check, holds only whole
// records, and kept every write the helper saw committed.
func TestCrashSafety(t *testing.T) {
	if os.Getenv(crashPathEnv) != "" {
		t.Skip("in the helper process")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "waptdb.sqlite")
	const runs = 10
	var acked struct{ installed, repo int }
	acked.installed, acked.repo = -1, -1
	for run := range runs {
		base := run * 1_000_000
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$")
		cmd.Env = append(os.Environ(), crashPathEnv+"="+path, crashBaseEnv+"="+strconv.Itoa(base))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var (
			mu       sync.Mutex
			helpErr  string
			lines    int
			first    = make(chan struct{})
			scanDone = make(chan struct{})
		)
		go func() {
			defer close(scanDone)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				kind, num, _ := strings.Cut(sc.Text(), " ")
				gen, err := strconv.Atoi(num)
				mu.Lock()
				switch {
				case kind == "error:" || err != nil:
					helpErr = sc.Text()
				case kind == "I":
					acked.installed = gen
				case kind == "R":
					acked.repo = gen
				}
				if lines++; lines == 1 {
					close(first)
				}
				mu.Unlock()
			}
		}()
		// Even runs kill at a random time after start (the first two early,
		// likely inside Open and its migrations); odd runs kill at a random
		// time after a first commit.
		var delay time.Duration
		if run%2 == 1 {
			select {
			case <-first:
			case <-scanDone:
			case <-time.After(30 * time.Second):
				t.Fatal("helper wrote nothing in 30s")
			}
			delay = time.Duration(rng.IntN(100)) * time.Millisecond
		} else if run < 4 {
			delay = time.Duration(rng.IntN(15_000)) * time.Microsecond // start-up, Open
		} else {
			delay = time.Duration(rng.IntN(250_000)) * time.Microsecond
		}
		time.Sleep(delay)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-scanDone
		cmd.Wait()
		mu.Lock()
		if helpErr != "" {
			t.Fatalf("run %d: helper failed: %s\n%s", run, helpErr, stderr.String())
		}
		t.Logf("run %d: killed after %v, %d commits", run, delay, lines)
		mu.Unlock()

		checkCrashDB(t, path, acked.installed, acked.repo)
	}

	// The records left INSTALLING/REMOVING are what a restart repairs.
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	list, err := d.ListInstalled(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, in := range list {
		if in.Status == engine.StatusInstalling || in.Status == engine.StatusRemoving {
			want = append(want, in.Package)
		}
	}
	got, err := d.RepairInterrupted(ctx, time.Now())
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("RepairInterrupted = %v, %v; want %v", got, err, want)
	}
}

// checkCrashDB opens the database left by a killed helper and checks it.
func checkCrashDB(t *testing.T, path string, ackedInstalled, ackedRepo int) {
	t.Helper()
	ctx := context.Background()
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open after kill: %v", err)
	}
	defer d.Close()
	var ok string
	if err := d.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check = %q, %v", ok, err)
	}
	list, err := d.ListInstalled(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range list {
		gen, err := strconv.Atoi(in.Version)
		if err != nil {
			t.Fatalf("%s: version %q", in.Package, in.Version)
		}
		if want := crashInstalled(gen); !reflect.DeepEqual(in, want) {
			t.Fatalf("%s: record is not one whole write of generation %d", in.Package, gen)
		}
	}
	if ackedInstalled >= 0 {
		name := crashInstalled(ackedInstalled).Package
		in, err := d.GetInstalled(ctx, name)
		if gen, _ := strconv.Atoi(in.Version); err != nil || gen < ackedInstalled {
			t.Fatalf("committed generation %d of %s lost: have %q, %v", ackedInstalled, name, in.Version, err)
		}
	}
	for r := range 3 {
		st, err := d.RepoState(ctx, fmt.Sprintf("repo%d", r))
		if err != nil {
			continue // not written yet
		}
		if want := crashRepo(int(st.IndexVersion)); !reflect.DeepEqual(st, want) {
			t.Fatalf("repo%d: state is not one whole write of generation %d", r, st.IndexVersion)
		}
	}
	if ackedRepo >= 0 {
		name := crashRepo(ackedRepo).Repo
		st, err := d.RepoState(ctx, name)
		if err != nil || st.IndexVersion < int64(ackedRepo) {
			t.Fatalf("committed generation %d of %s lost: have %d, %v", ackedRepo, name, st.IndexVersion, err)
		}
	}
}
