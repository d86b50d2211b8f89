package store

import (
	"bufio"
	"context"
	"crypto/x509"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wapt-go/wapt/server/inventory"
	"github.com/wapt-go/wapt/shared/wire"
)

// Environment of the helper process.
const (
	crashPathEnv  = "WAPT_SERVER_CRASH_DB"
	crashRoundEnv = "WAPT_SERVER_CRASH_ROUND"
	crashHosts    = 8
)

// crashReport is the report of generation gen: its one package's version
// is gen, so the stored version tells which report was last written.
func crashReport(uuid string, gen int) wire.StatusReport {
	pkgs := make([]wire.PackageState, 0, 20)
	for i := range 20 {
		pkgs = append(pkgs, wire.PackageState{Package: fmt.Sprintf("p%02d", i), Version: strconv.Itoa(gen), State: wire.StateOK, Status: "OK"})
	}
	return wire.StatusReport{UUID: uuid, Time: t0, Packages: pkgs, Problems: []string{strconv.Itoa(gen)}}
}

// TestCrashHelper is the helper process of TestCrashRestart: it registers
// hosts, then posts status reports in a loop, printing each acknowledged
// one, until killed.
func TestCrashHelper(t *testing.T) {
	path := os.Getenv(crashPathEnv)
	if path == "" {
		t.Skip("helper process of TestCrashRestart")
	}
	ctx := context.Background()
	fail := func(err error) { fmt.Printf("error: %v\n", err); os.Exit(3) }
	d, err := Open(ctx, path)
	if err != nil {
		fail(err)
	}
	svc := inventory.New(inventory.Config{Store: d})
	round := os.Getenv(crashRoundEnv)
	certs := make([]*x509.Certificate, crashHosts)
	for i := range crashHosts {
		uuid := fmt.Sprintf("r%s-h%d", round, i)
		c := selfSigned(t, uuid)
		certs[i] = c
		if err := svc.Register(ctx, wire.RegisterRequest{UUID: uuid, FQDN: uuid}, c, inventory.ByToken, t0, inventory.RegisterOptions{}); err != nil {
			fail(err)
		}
	}
	fmt.Println("READY")
	for gen := 1; ; gen++ {
		i := gen % crashHosts
		uuid := fmt.Sprintf("r%s-h%d", round, i)
		if err := svc.IngestStatus(ctx, uuid, certs[i], crashReport(uuid, gen), t0.Add(time.Duration(gen)*time.Millisecond)); err != nil {
			fail(err)
		}
		fmt.Printf("ACK %s %d\n", uuid, gen)
	}
}

// TestCrashRestart kills a process posting status reports with SIGKILL at
// random points, reopens the database and checks that every acknowledged
// report is there (the stored one is the last acknowledged or a later one).
func TestCrashRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "server.sqlite")
	for round := range 4 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashPathEnv+"="+path, crashRoundEnv+"="+strconv.Itoa(round))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := map[string]int{}
		sc := bufio.NewScanner(out)
		ready := false
		killAt := time.Time{}
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "READY":
				ready = true
				killAt = time.Now().Add(time.Duration(100+rand.IntN(300)) * time.Millisecond)
			case strings.HasPrefix(line, "ACK "):
				f := strings.Fields(line)
				n, _ := strconv.Atoi(f[2])
				acked[f[1]] = n
			case strings.HasPrefix(line, "error:"):
				t.Fatalf("helper: %s", line)
			}
			if ready && time.Now().After(killAt) {
				cmd.Process.Kill()
				break
			}
		}
		for sc.Scan() { // drain what was printed before the kill
			if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "ACK" {
				n, _ := strconv.Atoi(f[2])
				acked[f[1]] = n
			}
		}
		cmd.Wait()
		if len(acked) == 0 {
			t.Fatalf("round %d: no acknowledged report before the kill", round)
		}

		d, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		svc := inventory.New(inventory.Config{Store: d})
		for uuid, gen := range acked {
			h, err := svc.Host(ctx, uuid)
			if err != nil {
				t.Fatalf("round %d: %s: %v", round, uuid, err)
			}
			if len(h.Packages) != 20 {
				t.Fatalf("round %d: %s: %d packages, want 20 (torn write?)", round, uuid, len(h.Packages))
			}
			stored, _ := strconv.Atoi(h.Packages[0].Version)
			for _, p := range h.Packages {
				if p.Version != h.Packages[0].Version {
					t.Fatalf("round %d: %s: packages from two reports: %+v", round, uuid, h.Packages)
				}
			}
			if stored < gen || len(h.Problems) != 1 || h.Problems[0] != h.Packages[0].Version {
				t.Errorf("round %d: %s: stored generation %d (problems %v), acknowledged %d", round, uuid, stored, h.Problems, gen)
			}
		}
		d.Close()
		t.Logf("round %d: %d hosts checked, last acknowledged generation %d", round, len(acked), maxGen(acked))
	}
}

func maxGen(m map[string]int) int {
	n := 0
	for _, g := range m {
		n = max(n, g)
	}
	return n
}
