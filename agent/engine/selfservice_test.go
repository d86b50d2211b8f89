package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wapt-go/wapt/agent/engine"
	"github.com/wapt-go/wapt/agent/selfservice"
	"github.com/wapt-go/wapt/shared/signing"
)

func rulesOf(t *testing.T, a *agent) []engine.SelfServiceRules {
	t.Helper()
	rs, err := a.eng.SelfServiceRules(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestSelfServiceRulesKept: the rules file of a verified self-service
// package is kept when it installs, replaced when it upgrades, dropped
// when it is removed or forgotten; other packages keep nothing.
func TestSelfServiceRulesKept(t *testing.T) {
	if engine.MaxSelfServiceRules != selfservice.MaxSize {
		t.Fatalf("engine keeps up to %d bytes, selfservice parses up to %d", engine.MaxSelfServiceRules, selfservice.MaxSize)
	}
	ctx := context.Background()
	r := newTestRepo(t)
	v1 := `{"staff": ["test-app"]}`
	v2 := `{"staff": ["test-app", "category:Office"]}`
	r.publish(ctl("test-rules", "1-1", "selfservice", ""), map[string]string{"WAPT/selfservice.json": v1})
	r.publish(ctl("test-app", "1-1", "base", ""), map[string]string{"WAPT/selfservice.json": `{"*": ["*"]}`})
	a := newAgent(t, r, signing.NewTrust(ca.cert))
	if _, err := a.eng.Update(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.eng.InstallPackages(ctx, "test-rules", "test-app"); err != nil {
		t.Fatal(err)
	}
	rs := rulesOf(t, a)
	if len(rs) != 1 || rs[0].Package != "test-rules" || rs[0].Version != "1-1" || string(rs[0].Data) != v1 || rs[0].Err != "" {
		t.Fatalf("rules after install = %+v", rs)
	}
	if _, err := selfservice.Parse(rs[0].Package, rs[0].Data); err != nil {
		t.Errorf("kept rules do not parse: %v", err)
	}

	r.publish(ctl("test-rules", "2-1", "selfservice", ""), map[string]string{"WAPT/selfservice.json": v2})
	if _, err := a.eng.Update(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.eng.Upgrade(ctx); err != nil {
		t.Fatal(err)
	}
	if rs := rulesOf(t, a); len(rs) != 1 || rs[0].Version != "2-1" || string(rs[0].Data) != v2 {
		t.Fatalf("rules after upgrade = %+v", rs)
	}

	if _, err := a.eng.Remove(ctx, "test-rules"); err != nil {
		t.Fatal(err)
	}
	if rs := rulesOf(t, a); len(rs) != 0 {
		t.Fatalf("rules after remove = %+v", rs)
	}
	if v, err := a.st.Param(ctx, "selfservice:test-rules"); err == nil && v != "" {
		t.Errorf("the store still holds %q", v)
	}

	if _, err := a.eng.InstallPackages(ctx, "test-rules"); err != nil {
		t.Fatal(err)
	}
	if err := a.eng.Forget(ctx, "test-rules"); err != nil {
		t.Fatal(err)
	}
	if rs := rulesOf(t, a); len(rs) != 0 {
		t.Fatalf("rules after forget = %+v", rs)
	}
}

// TestSelfServiceRulesNotFromUnsignedSources: a self-service package
// installed from sources (development mode, no signature) grants nothing,
// and replaces the rules a signed version had.
func TestSelfServiceRulesNotFromUnsignedSources(t *testing.T) {
	ctx := context.Background()
	r := newTestRepo(t)
	r.publish(ctl("test-rules", "1-1", "selfservice", ""), map[string]string{"WAPT/selfservice.json": `{"staff": ["a"]}`})
	a := newAgent(t, r, signing.NewTrust(ca.cert))
	if _, err := a.eng.Update(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.eng.InstallPackages(ctx, "test-rules"); err != nil {
		t.Fatal(err)
	}
	if len(rulesOf(t, a)) != 1 {
		t.Fatal("signed rules not kept")
	}
	src := filepath.Join(t.TempDir(), "test-rules")
	write(t, filepath.Join(src, "WAPT", "control"), ctl("test-rules", "9-1", "selfservice", ""))
	write(t, filepath.Join(src, "WAPT", "selfservice.json"), `{"*": ["*"]}`)
	if _, err := a.eng.Install(ctx, src); err != nil {
		t.Fatal(err)
	}
	if rs := rulesOf(t, a); len(rs) != 0 {
		t.Fatalf("rules from unsigned sources = %+v", rs)
	}
}

// TestSelfServiceRulesBroken: a rules file too large to keep is recorded
// as an error (that package grants nothing); a self-service package
// without one keeps an empty record.
func TestSelfServiceRulesBroken(t *testing.T) {
	ctx := context.Background()
	r := newTestRepo(t)
	big := `{"g": ["` + strings.Repeat("a", engine.MaxSelfServiceRules) + `"]}`
	r.publish(ctl("test-big", "1-1", "selfservice", ""), map[string]string{"WAPT/selfservice.json": big})
	r.publish(ctl("test-none", "1-1", "selfservice", ""), nil)
	a := newAgent(t, r, signing.NewTrust(ca.cert))
	if _, err := a.eng.Update(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.eng.InstallPackages(ctx, "test-big", "test-none"); err != nil {
		t.Fatal(err)
	}
	rs := rulesOf(t, a)
	if len(rs) != 2 || rs[0].Package != "test-big" || rs[0].Data != nil || !strings.Contains(rs[0].Err, "larger than") ||
		rs[1].Package != "test-none" || rs[1].Data != nil || rs[1].Err != "" {
		t.Fatalf("rules = %+v", rs)
	}
	// A record whose version is not the installed one is stale: ignored.
	b, _ := json.Marshal(map[string]any{"version": "0-0", "data": []byte(`{"*": ["*"]}`)})
	if err := a.st.SetParam(ctx, "selfservice:test-none", string(b)); err != nil {
		t.Fatal(err)
	}
	if rs := rulesOf(t, a); len(rs) != 1 || rs[0].Package != "test-big" {
		t.Fatalf("rules with a stale record = %+v", rs)
	}
}

// TestCatalog: one candidate per name, the newest that suits the host.
func TestCatalog(t *testing.T) {
	ctx := context.Background()
	r := newTestRepo(t)
	r.publish(ctl("test-b", "1-1", "base", ""), nil)
	r.publish(ctl("test-b", "2-1", "base", ""), nil)
	r.publish(ctl("test-a", "1-1", "base", "")+"categories        : Office\n", nil)
	r.publish(ctl("test-a", "3-1", "base", "")+"maturity          : BETA\n", nil)
	r.publish(ctl("test-other-os", "1-1", "base", "")+"target_os         : plan9\n", nil)
	a := newAgent(t, r, signing.NewTrust(ca.cert))
	if _, err := a.eng.Update(ctx); err != nil {
		t.Fatal(err)
	}
	cat, err := a.eng.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cat {
		got = append(got, c.Control.Package()+" "+c.Control.Get("version"))
	}
	if strings.Join(got, ",") != "test-a 1-1,test-b 2-1" {
		t.Errorf("catalog = %v", got)
	}
}

// TestUpgradeOnlyAndInstallPackages: UpgradeOnly installs the named
// pending packages with their dependencies and nothing else, without
// marking them explicit; InstallPackages never reads an argument as a
// directory of sources.
func TestUpgradeOnlyAndInstallPackages(t *testing.T) {
	ctx := context.Background()
	r := newTestRepo(t)
	r.publish(ctl("test-lib", "1-1", "base", ""), nil)
	r.publish(ctl("test-app", "1-1", "base", "test-lib")+"impacted_process  : app.exe,helper\n", nil)
	r.publish(strings.Replace(ctl("test-other", "1-1", "base", ""), "optional", "critical", 1), nil)
	r.publish(ctl(hostUUID, "1", "host", "test-app,test-other"), nil)
	a := newAgent(t, r, signing.NewTrust(ca.cert))
	if _, err := a.eng.Update(ctx); err != nil {
		t.Fatal(err)
	}
	st := mustStatus(t, a)
	for _, p := range st.Pending() {
		c := p.Control()
		if c == nil {
			t.Fatalf("%s: no control", p.Package)
		}
		if p.Package == "test-other" && c.Get("priority") != "critical" {
			t.Errorf("test-other priority %q", c.Get("priority"))
		}
		if p.Package == "test-app" && c.Get("impacted_process") != "app.exe,helper" {
			t.Errorf("test-app impacted_process %q", c.Get("impacted_process"))
		}
	}
	rep, err := a.eng.UpgradeOnly(ctx, "TEST-APP", "not-pending", "test-lib")
	if err != nil {
		t.Fatal(err)
	}
	var done []string
	for _, o := range rep.Outcomes {
		done = append(done, o.Action+" "+o.Package)
	}
	if strings.Join(done, ",") != "install test-lib,install test-app" {
		t.Errorf("outcomes %v", done)
	}
	st = mustStatus(t, a)
	if stateOf(t, st, "test-app") != engine.StateOK || stateOf(t, st, "test-other") != engine.StateNeedInstall {
		t.Errorf("status after UpgradeOnly = %+v", st)
	}
	if in, err := a.st.GetInstalled(ctx, "test-app"); err != nil || in.Explicit {
		t.Errorf("test-app record %+v, %v: want installed, not explicit", in, err)
	}

	// A directory of sources named like an argument is never installed.
	src := filepath.Join(t.TempDir(), "test-dev")
	write(t, filepath.Join(src, "WAPT", "control"), ctl("test-dev", "1-1", "base", ""))
	rep, err = a.eng.InstallPackages(ctx, src)
	if err == nil || !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("InstallPackages(dir) = %+v, %v; want not found", rep, err)
	}
	if _, err := a.st.GetInstalled(ctx, "test-dev"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("test-dev installed from sources by InstallPackages: %v", err)
	}
	if _, err := os.Stat(src); err != nil {
		t.Fatal(err)
	}
}
