package inventory_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wapt-go/wapt/server/inventory"
	"github.com/wapt-go/wapt/server/store"
	"github.com/wapt-go/wapt/shared/signing"
	"github.com/wapt-go/wapt/shared/wire"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// newService opens a real SQLite store in a temporary directory.
func newService(tb testing.TB) (*inventory.Service, *store.DB) {
	tb.Helper()
	db, err := store.Open(context.Background(), filepath.Join(tb.TempDir(), "server.sqlite"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return inventory.New(inventory.Config{Store: db}), db
}

// hostCA issues host certificates (CN = uuid) like the server's host CA.
type hostCA struct {
	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	serial atomic.Int64
}

func newCA(tb testing.TB) *hostCA {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "host CA"},
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &hostCA{cert: cert, key: key}
	ca.serial.Store(1)
	return ca
}

// issue returns a fresh host certificate for cn.
func (ca *hostCA) issue(tb testing.TB, cn string) *x509.Certificate {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(ca.serial.Add(1)), Subject: pkix.Name{CommonName: cn},
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(365 * 24 * time.Hour),
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert
}

func regReq(uuid string, sections map[string]string) wire.RegisterRequest {
	r := wire.RegisterRequest{UUID: uuid, FQDN: uuid + ".example.org", Token: "tok"}
	if sections != nil {
		r.Sections = map[string]json.RawMessage{}
		for k, v := range sections {
			r.Sections[k] = json.RawMessage(v)
		}
	}
	return r
}

// register registers uuid by token and returns its certificate.
func register(tb testing.TB, svc *inventory.Service, ca *hostCA, uuid string, sections map[string]string) *x509.Certificate {
	tb.Helper()
	cert := ca.issue(tb, uuid)
	if err := svc.Register(context.Background(), regReq(uuid, sections), cert, inventory.ByToken, t0, inventory.RegisterOptions{}); err != nil {
		tb.Fatal(err)
	}
	return cert
}

func pkg(name, ver, state string) wire.PackageState {
	st := "OK"
	if state == wire.StateNeedInstall {
		st = ""
	}
	return wire.PackageState{Package: name, Version: ver, Status: st, State: state, InstallDate: t0, Explicit: true}
}

func report(uuid string, pkgs ...wire.PackageState) wire.StatusReport {
	return wire.StatusReport{UUID: uuid, Time: t0, HostStatus: wire.StateOK, Packages: pkgs}
}

func sec(data string) wire.Section {
	return wire.Section{Hash: inventory.SectionHash([]byte(data)), Data: json.RawMessage(data)}
}

func TestRegister(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	ca := newCA(t)
	cert := register(t, svc, ca, "h1", map[string]string{"host": `{"platform":"debian","platformVersion":"13"}`})
	other := register(t, svc, ca, "h2", nil)

	d, err := svc.Host(ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if d.Summary.Hostname != "h1" || d.Summary.OS != "debian" || d.Summary.OSVersion != "13" ||
		d.Summary.CertFingerprint != signing.Fingerprint(cert) || !d.Summary.Registered.Equal(t0) || d.Summary.Status != "" {
		t.Errorf("summary = %+v", d.Summary)
	}
	if string(d.Sections["host"]) != `{"platform":"debian","platformVersion":"13"}` {
		t.Errorf("sections = %s", d.Sections)
	}

	big := `"` + strings.Repeat("x", inventory.MaxSectionSize) + `"`
	tests := []struct {
		name string
		req  wire.RegisterRequest
		cn   string // certificate CN; "" = req.UUID
		by   string
		opt  func() inventory.RegisterOptions
		want error
	}{
		{name: "new host by token", req: regReq("h3", nil), by: inventory.ByToken},
		{name: "empty uuid", req: regReq("", nil), by: inventory.ByToken, cn: "x", want: inventory.ErrInvalid},
		{name: "uuid with control char", req: regReq("h\x00", nil), by: inventory.ByToken, want: inventory.ErrInvalid},
		{name: "cert CN is another host", req: regReq("h4", nil), cn: "h1", by: inventory.ByToken, want: inventory.ErrInvalid},
		{name: "section not JSON", req: regReq("h4", map[string]string{"host": "{nope"}), by: inventory.ByToken, want: inventory.ErrInvalid},
		{name: "section oversized", req: regReq("h4", map[string]string{"big": big}), by: inventory.ByToken, want: inventory.ErrInvalid},
		{name: "empty actor", req: regReq("h4", nil), by: "", want: inventory.ErrInvalid},
		{name: "known host by token", req: regReq("h1", nil), by: inventory.ByToken, want: inventory.ErrForbidden},
		{name: "known host signed by another host", req: regReq("h1", nil), by: inventory.ByHost,
			opt: func() inventory.RegisterOptions { return inventory.RegisterOptions{SignedBy: other} }, want: inventory.ErrForbidden},
		{name: "known host signed by a fresh key with its CN", req: regReq("h1", nil), by: inventory.ByHost,
			opt: func() inventory.RegisterOptions { return inventory.RegisterOptions{SignedBy: ca.issue(t, "h1")} }, want: inventory.ErrForbidden},
		{name: "known host signed by its current key", req: regReq("h1", nil), by: inventory.ByHost,
			opt: func() inventory.RegisterOptions { return inventory.RegisterOptions{SignedBy: cert} }},
		{name: "known host by an admin", req: regReq("h2", nil), by: "alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cn := tt.cn
			if cn == "" {
				cn = tt.req.UUID
			}
			var opt inventory.RegisterOptions
			if tt.opt != nil {
				opt = tt.opt()
			}
			before, _ := svc.AuditLog(ctx, 1000)
			newCert := ca.issue(t, cn)
			err := svc.Register(ctx, tt.req, newCert, tt.by, t0.Add(time.Minute), opt)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Register = %v, want %v", err, tt.want)
			}
			after, _ := svc.AuditLog(ctx, 1000)
			if tt.want != nil {
				if len(after) != len(before) {
					t.Errorf("a refused registration wrote an audit entry")
				}
				if tt.want == inventory.ErrInvalid {
					var fe *wire.FieldsError
					if !errors.As(err, &fe) || len(fe.Fields) == 0 {
						t.Errorf("no per-field reasons in %v", err)
					}
				}
				return
			}
			uuid, got, err := svc.HostByCertFingerprint(ctx, signing.Fingerprint(newCert))
			if err != nil || uuid != tt.req.UUID || !got.Equal(newCert) {
				t.Errorf("HostByCertFingerprint = %q, %v", uuid, err)
			}
			if len(after) != len(before)+1 || after[0].Actor != tt.by || after[0].Target != tt.req.UUID {
				t.Errorf("audit = %+v", after[0])
			}
		})
	}

	// h1 re-registered with a new certificate: the old one no longer authenticates.
	if _, _, err := svc.HostByCertFingerprint(ctx, signing.Fingerprint(cert)); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("superseded certificate: %v, want ErrNotFound", err)
	}
	if _, _, err := svc.HostByCertFingerprint(ctx, "00"); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("unknown fingerprint: %v", err)
	}
}

func TestUnregister(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	ca := newCA(t)
	cert := register(t, svc, ca, "h1", nil)
	if err := svc.IngestStatus(ctx, "h1", cert, report("h1", pkg("firefox", "115-1", wire.StateOK)), t0); err != nil {
		t.Fatal(err)
	}
	// Looked up (and cached) before the revocation: the cache must not
	// keep it alive after.
	if uuid, _, err := svc.HostByCertFingerprint(ctx, signing.Fingerprint(cert)); err != nil || uuid != "h1" {
		t.Fatalf("lookup before unregister = %q, %v", uuid, err)
	}
	if err := svc.Unregister(ctx, "h1", "alice", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := svc.Unregister(ctx, "h1", "alice", t0.Add(time.Hour)); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("second Unregister = %v, want ErrNotFound", err)
	}
	if err := svc.Unregister(ctx, "nope", "alice", t0); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("Unregister unknown = %v", err)
	}
	if _, _, err := svc.HostByCertFingerprint(ctx, signing.Fingerprint(cert)); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("revoked certificate: %v, want ErrNotFound", err)
	}
	if err := svc.IngestStatus(ctx, "h1", cert, report("h1"), t0.Add(2*time.Hour)); !errors.Is(err, inventory.ErrForbidden) {
		t.Errorf("status after unregister = %v, want ErrForbidden", err)
	}
	d, err := svc.Host(ctx, "h1") // history kept
	if err != nil || len(d.Packages) != 1 {
		t.Errorf("Host after unregister = %+v, %v", d, err)
	}
	if l, _ := svc.ListHosts(ctx, inventory.Query{}); l.Total != 0 {
		t.Errorf("revoked host listed: %+v", l)
	}
	if l, _ := svc.ListHosts(ctx, inventory.Query{IncludeRevoked: true}); l.Total != 1 {
		t.Errorf("IncludeRevoked: %+v", l)
	}
	// An unregistered host may enroll again with the token.
	cert2 := register(t, svc, ca, "h1", nil)
	if err := svc.IngestStatus(ctx, "h1", cert2, report("h1"), t0.Add(3*time.Hour)); err != nil {
		t.Errorf("status after re-enrollment: %v", err)
	}
	log, err := svc.AuditLog(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range log {
		got = append(got, a.Actor+" "+a.Action+" "+a.Target)
	}
	want := []string{"token register h1", "alice unregister h1", "token register h1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("audit log = %q, want %q", got, want)
	}
	if !log[1].At.Equal(t0.Add(time.Hour)) {
		t.Errorf("audit time = %v", log[1].At)
	}
}

func TestIngestStatus(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	ca := newCA(t)
	certA := register(t, svc, ca, "a", map[string]string{"host": `{"os":"linux"}`})
	certB := register(t, svc, ca, "b", nil)
	stale := ca.issue(t, "a") // CN a, never registered
	revoked := register(t, svc, ca, "r", nil)
	if err := svc.Unregister(ctx, "r", "alice", t0); err != nil {
		t.Fatal(err)
	}
	hostHash := inventory.SectionHash([]byte(`{"os":"linux"}`))
	good := func() wire.StatusReport {
		r := report("a", pkg("firefox", "115.0-2", wire.StateOK), pkg("7zip", "23.1-1", wire.StateNeedUpgrade))
		r.SectionHashes = map[string]string{"host": hostHash}
		return r
	}
	with := func(f func(*wire.StatusReport)) wire.StatusReport { r := good(); f(&r); return r }
	bigSec := `"` + strings.Repeat("x", inventory.MaxSectionSize) + `"`
	nearBig := `"` + strings.Repeat("x", inventory.MaxSectionSize-10) + `"`

	tests := []struct {
		name   string
		uuid   string
		signer *x509.Certificate
		rep    wire.StatusReport
		want   error
	}{
		{name: "good", uuid: "a", signer: certA, rep: good()},
		{name: "signed by another host", uuid: "a", signer: certB, rep: good(), want: inventory.ErrForbidden},
		{name: "other host's cert for its own uuid but report of a", uuid: "b", signer: certB, rep: good(), want: inventory.ErrInvalid},
		{name: "cert with the right CN but not current", uuid: "a", signer: stale, rep: good(), want: inventory.ErrForbidden},
		{name: "no signer", uuid: "a", rep: good(), want: inventory.ErrForbidden},
		{name: "revoked host", uuid: "r", signer: revoked, rep: with(func(r *wire.StatusReport) { r.UUID = "r"; r.SectionHashes = nil }), want: inventory.ErrForbidden},
		{name: "unknown host", uuid: "z", signer: ca.issue(t, "z"), rep: with(func(r *wire.StatusReport) { r.UUID = "z" }), want: inventory.ErrNotFound},
		{name: "bad state", uuid: "a", signer: certA, rep: with(func(r *wire.StatusReport) { r.Packages[0].State = "FINE" }), want: inventory.ErrInvalid},
		{name: "bad host status", uuid: "a", signer: certA, rep: with(func(r *wire.StatusReport) { r.HostStatus = "'; DROP TABLE hosts;--" }), want: inventory.ErrInvalid},
		{name: "bad version", uuid: "a", signer: certA, rep: with(func(r *wire.StatusReport) { r.Packages[0].Version = "1..2" }), want: inventory.ErrInvalid},
		{name: "duplicate package", uuid: "a", signer: certA, rep: with(func(r *wire.StatusReport) { r.Packages[1].Package = "FireFox" }), want: inventory.ErrInvalid},
		{name: "empty package name", uuid: "a", signer: certA, rep: with(func(r *wire.StatusReport) { r.Packages[1].Package = "" }), want: inventory.ErrInvalid},
		{name: "invalid UTF-8 error", uuid: "a", signer: certA, rep: with(func(r *wire.StatusReport) { r.Packages[1].LastError = "\xff" }), want: inventory.ErrInvalid},
		{name: "section not JSON", uuid: "a", signer: certA, rep: with(func(r *wire.StatusReport) {
			r.Sections = map[string]wire.Section{"host": {Hash: "ab", Data: json.RawMessage("{")}}
			r.SectionHashes["host"] = "ab"
		}), want: inventory.ErrInvalid},
		{name: "section hash differs from list", uuid: "a", signer: certA, rep: with(func(r *wire.StatusReport) {
			r.Sections = map[string]wire.Section{"host": sec(`{}`)}
		}), want: inventory.ErrInvalid},
		{name: "section not in hashes", uuid: "a", signer: certA, rep: with(func(r *wire.StatusReport) {
			r.Sections = map[string]wire.Section{"disk": sec(`{}`)}
		}), want: inventory.ErrInvalid},
		{name: "hash not hex", uuid: "a", signer: certA, rep: with(func(r *wire.StatusReport) { r.SectionHashes["host"] = "XYZ" }), want: inventory.ErrInvalid},
		{name: "oversized section", uuid: "a", signer: certA, rep: with(func(r *wire.StatusReport) {
			s := sec(bigSec)
			r.Sections = map[string]wire.Section{"big": s}
			r.SectionHashes["big"] = s.Hash
		}), want: inventory.ErrInvalid},
		{name: "sections over 16 MiB in all", uuid: "a", signer: certA, rep: with(func(r *wire.StatusReport) {
			r.Sections = map[string]wire.Section{}
			for i := range 17 {
				s := sec(nearBig)
				r.Sections[fmt.Sprint("s", i)] = s
				r.SectionHashes[fmt.Sprint("s", i)] = s.Hash
			}
		}), want: inventory.ErrInvalid},
		{name: "missing section hash", uuid: "a", signer: certA, rep: with(func(r *wire.StatusReport) { r.SectionHashes["disk"] = "abcd" }), want: inventory.ErrConflict},
		{name: "changed hash not sent", uuid: "a", signer: certA, rep: with(func(r *wire.StatusReport) { r.SectionHashes["host"] = "abcd" }), want: inventory.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := svc.Host(ctx, "a")
			if err != nil {
				t.Fatal(err)
			}
			now := t0.Add(time.Hour)
			err = svc.IngestStatus(ctx, tt.uuid, tt.signer, tt.rep, now)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("IngestStatus = %v, want %v", err, tt.want)
			}
			after, _ := svc.Host(ctx, "a")
			if tt.want != nil {
				if !reflect.DeepEqual(before, after) {
					t.Errorf("a refused report changed host a:\n%+v\n%+v", before, after)
				}
				if tt.want == inventory.ErrConflict {
					var me *inventory.MissingSectionsError
					if !errors.As(err, &me) || len(me.Names) != 1 {
						t.Errorf("want *MissingSectionsError naming one section, got %v", err)
					}
				}
				return
			}
			s := after.Summary
			if s.Status != wire.StateNeedUpgrade || s.Pending != 1 || s.Errors != 0 || !s.LastSeen.Equal(now) || !after.LastReport.Equal(t0) {
				t.Errorf("summary = %+v", s)
			}
			if len(after.Packages) != 2 || after.Packages[0].Package != "7zip" || after.Packages[1].Version != "115.0-2" ||
				!after.Packages[1].InstallDate.Equal(t0) || !after.Packages[1].Explicit {
				t.Errorf("packages = %+v", after.Packages)
			}
		})
	}

	// Replacing: a later report drops 7zip, adds an error.
	rep := good()
	rep.Packages = []wire.PackageState{pkg("firefox", "116-1", wire.StateError)}
	rep.Packages[0].LastError = "exit 1603"
	rep.Problems = []string{"repository unreachable"}
	rep.LastUpgrade = &wire.RunSummary{Time: t0, Error: "firefox failed"}
	if err := svc.IngestStatus(ctx, "a", certA, rep, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	d, _ := svc.Host(ctx, "a")
	if len(d.Packages) != 1 || d.Packages[0].Version != "116-1" || d.Packages[0].LastError != "exit 1603" ||
		d.Summary.Status != wire.StateError || d.Summary.Errors != 1 || d.Summary.Pending != 0 ||
		!reflect.DeepEqual(d.Problems, rep.Problems) || d.LastUpgrade == nil || d.LastUpgrade.Error != "firefox failed" {
		t.Errorf("after replace: %+v", d)
	}
}

func TestSectionDelta(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	ca := newCA(t)
	secs := map[string]string{"host": `{"os":"linux"}`, "cpu": `{"cores":2}`}
	cert := register(t, svc, ca, "h", secs)
	hashes := func(kv map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range kv {
			out[k] = inventory.SectionHash([]byte(v))
		}
		return out
	}
	post := func(h map[string]string, sent map[string]string) error {
		r := report("h")
		r.SectionHashes = h
		if sent != nil {
			r.Sections = map[string]wire.Section{}
			for k, v := range sent {
				r.Sections[k] = sec(v)
			}
		}
		return svc.IngestStatus(ctx, "h", cert, r, t0)
	}
	stored := func() map[string]string {
		d, err := svc.Host(ctx, "h")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for k, v := range d.Sections {
			out[k] = string(v)
		}
		return out
	}

	steps := []struct {
		name   string
		hashes map[string]string
		sent   map[string]string
		want   error
		stored map[string]string
	}{
		{name: "unchanged, nothing sent", hashes: hashes(secs), stored: secs},
		{name: "one changed, sent", hashes: hashes(map[string]string{"host": `{"os":"linux"}`, "cpu": `{"cores":4}`}),
			sent: map[string]string{"cpu": `{"cores":4}`}, stored: map[string]string{"host": `{"os":"linux"}`, "cpu": `{"cores":4}`}},
		{name: "changed but not sent", hashes: hashes(map[string]string{"host": `{"os":"bsd"}`, "cpu": `{"cores":4}`}),
			want: inventory.ErrConflict, stored: map[string]string{"host": `{"os":"linux"}`, "cpu": `{"cores":4}`}},
		{name: "new section not sent", hashes: hashes(map[string]string{"host": `{"os":"linux"}`, "cpu": `{"cores":4}`, "disk": `[]`}),
			want: inventory.ErrConflict, stored: map[string]string{"host": `{"os":"linux"}`, "cpu": `{"cores":4}`}},
		{name: "all sent after the refusal", hashes: hashes(map[string]string{"host": `{"os":"bsd"}`, "cpu": `{"cores":4}`, "disk": `[]`}),
			sent:   map[string]string{"host": `{"os":"bsd"}`, "cpu": `{"cores":4}`, "disk": `[]`},
			stored: map[string]string{"host": `{"os":"bsd"}`, "cpu": `{"cores":4}`, "disk": `[]`}},
		{name: "section removed", hashes: hashes(map[string]string{"host": `{"os":"bsd"}`}),
			stored: map[string]string{"host": `{"os":"bsd"}`}},
		{name: "no hashes: sections untouched", stored: map[string]string{"host": `{"os":"bsd"}`}},
		{name: "empty hashes: all removed", hashes: map[string]string{}, stored: map[string]string{}},
	}
	for _, st := range steps {
		err := post(st.hashes, st.sent)
		if !errors.Is(err, st.want) || (st.want == nil) != (err == nil) {
			t.Fatalf("%s: IngestStatus = %v, want %v", st.name, err, st.want)
		}
		if got := stored(); !reflect.DeepEqual(got, st.stored) {
			t.Errorf("%s: stored = %v, want %v", st.name, got, st.stored)
		}
	}
	if d, _ := svc.Host(ctx, "h"); d.Summary.OS != "bsd" {
		t.Errorf("OS from the host section = %q", d.Summary.OS)
	}
}
