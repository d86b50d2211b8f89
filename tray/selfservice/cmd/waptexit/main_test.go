package main

import (
	"errors"
	"log"
	"strings"
	"testing"

	"github.com/wapt-go/wapt/tray/exit"
)

func TestReport(t *testing.T) {
	var b strings.Builder
	logger := log.New(&b, "", 0)
	if c := report(logger, exit.Result{Outcome: exit.Upgraded}, nil); c != 0 {
		t.Errorf("upgraded: code %d", c)
	}
	if c := report(logger, exit.Result{Outcome: exit.Postponed}, nil); c != 0 {
		t.Errorf("postponed: code %d", c)
	}
	if c := report(logger, exit.Result{Outcome: exit.Failed}, errors.New("boom")); c != 1 {
		t.Errorf("failed: code %d", c)
	}
	if !strings.Contains(b.String(), "waptexit: error: boom") {
		t.Errorf("log = %q", b.String())
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{"--nope"}, {"extra"}, {"install-shutdown-script", "extra"}} {
		if c := run(args); c != 2 {
			t.Errorf("run(%q) = %d, want 2", args, c)
		}
	}
	if c := run([]string{"-h"}); c != 0 {
		t.Errorf("run(-h) = %d, want 0", c)
	}
}
