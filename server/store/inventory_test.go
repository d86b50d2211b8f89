package store

import (
	"context"
	"crypto/x509"
	"database/sql"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wapt-go/wapt/server/inventory"
	"github.com/wapt-go/wapt/shared/signing"
	"github.com/wapt-go/wapt/shared/wire"
)

// section returns a section as the service passes it: hashed, with its
// facts.
func section(tb testing.TB, name, data string) inventory.SectionData {
	tb.Helper()
	f, err := inventory.DeriveFacts(name, []byte(data))
	if err != nil {
		tb.Fatal(err)
	}
	return inventory.SectionData{Name: name, Hash: inventory.SectionHash([]byte(data)), Data: []byte(data), Facts: f}
}

// softwareJSON is a software section of "name version" items.
func softwareJSON(items ...string) string {
	var parts []string
	for _, it := range items {
		n, v, _ := strings.Cut(it, " ")
		parts = append(parts, fmt.Sprintf(`{"name":%q,"version":%q,"publisher":"Debian","arch":"amd64","source":"dpkg"}`, n, v))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// registerWith registers uuid with sections (name → JSON).
func registerWith(tb testing.TB, d *DB, uuid string, cert *x509.Certificate, secs map[string]string) {
	tb.Helper()
	r := inventory.Registration{UUID: uuid, FQDN: uuid + ".example.lan", Hostname: uuid, Fingerprint: signing.Fingerprint(cert),
		CertDER: cert.Raw, At: t0, By: "token"}
	for _, n := range sortedKeys(secs) {
		r.Sections = append(r.Sections, section(tb, n, secs[n]))
	}
	if err := d.Register(context.Background(), r, inventory.AuditEntry{At: t0, Actor: "token", Action: "register", Target: uuid}); err != nil {
		tb.Fatal(err)
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// postSections saves a status report whose inventory is secs (name →
// JSON): sections whose hash the store has are only listed, as the agent
// does.
func postSections(tb testing.TB, d *DB, uuid string, cert *x509.Certificate, secs map[string]string) {
	tb.Helper()
	ctx := context.Background()
	h, err := d.Host(ctx, uuid)
	if err != nil {
		tb.Fatal(err)
	}
	u := inventory.StatusUpdate{UUID: uuid, Fingerprint: signing.Fingerprint(cert), Status: wire.StateOK, At: t0,
		ReconcileSections: true, KeepSections: map[string]string{}}
	for _, n := range sortedKeys(secs) {
		s := section(tb, n, secs[n])
		if old, ok := h.Sections[n]; ok && string(old) == secs[n] {
			u.KeepSections[n] = s.Hash
			continue
		}
		u.SetSections = append(u.SetSections, s)
	}
	if err := d.SaveStatus(ctx, u); err != nil {
		tb.Fatal(err)
	}
}

// software returns "name version" of uuid's software rows, sorted.
func software(tb testing.TB, d *DB, uuid string) []string {
	tb.Helper()
	var out []string
	err := d.read(context.Background(), func(tx *sql.Tx) error {
		var id int64
		if err := tx.QueryRow("SELECT id FROM hosts WHERE uuid = ?", uuid).Scan(&id); err != nil {
			return err
		}
		rows, err := hostSoftware(context.Background(), tx, id)
		for _, r := range rows {
			out = append(out, r.Name+" "+r.Version)
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func countRows(tb testing.TB, d *DB, table string) int {
	tb.Helper()
	var n int
	if err := d.db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// TestSoftwareFollowsSections: a host's software rows follow its software
// section through registration and status reports: added, version
// changed, removed, a section of another shape (kept, no rows), the
// section dropped; software no host has any more leaves the table, and a
// re-sent unchanged section writes nothing.
func TestSoftwareFollowsSections(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, "")
	c1, c2 := selfSigned(t, "h1"), selfSigned(t, "h2")
	registerWith(t, d, "h2", c2, map[string]string{"software": softwareJSON("openssl 3.0.2")})
	registerWith(t, d, "h1", c1, map[string]string{"software": softwareJSON("openssl 3.0.2", "curl 7.81.0-1ubuntu1.4", "firefox 115.0.2")})
	steps := []struct {
		name     string
		secs     map[string]string // the host's whole inventory
		want     []string
		software int // rows of the software table after the step
	}{
		{"registered", nil, []string{"curl 7.81.0-1ubuntu1.4", "firefox 115.0.2", "openssl 3.0.2"}, 3},
		{"unchanged", map[string]string{"software": softwareJSON("openssl 3.0.2", "curl 7.81.0-1ubuntu1.4", "firefox 115.0.2")},
			[]string{"curl 7.81.0-1ubuntu1.4", "firefox 115.0.2", "openssl 3.0.2"}, 3},
		{"upgraded, removed, added", map[string]string{"software": softwareJSON("openssl 3.0.13", "firefox 115.0.2", "zsh 5.8")},
			[]string{"firefox 115.0.2", "openssl 3.0.13", "zsh 5.8"}, 4}, // curl gone, openssl 3.0.2 kept for h2
		{"same software twice in the section", map[string]string{"software": softwareJSON("openssl 3.0.13", "openssl 3.0.13", "OpenSSL 3.0.13")},
			[]string{"OpenSSL 3.0.13", "openssl 3.0.13"}, 3},
		{"collector failed", map[string]string{"software": `{"error":"dpkg-query: not found"}`}, nil, 1},
		{"back", map[string]string{"software": softwareJSON("openssl 3.0.2", "vim 2:9.0.1378-2")},
			[]string{"openssl 3.0.2", "vim 2:9.0.1378-2"}, 2},
		{"section dropped", map[string]string{}, nil, 1},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.secs != nil {
				postSections(t, d, "h1", c1, st.secs)
			}
			got := software(t, d, "h1")
			if !reflect.DeepEqual(got, st.want) {
				t.Errorf("software %q, want %q", got, st.want)
			}
			if n := countRows(t, d, "software"); n != st.software {
				t.Errorf("%d rows in software, want %d", n, st.software)
			}
			if got := software(t, d, "h2"); !reflect.DeepEqual(got, []string{"openssl 3.0.2"}) {
				t.Errorf("h2's software changed: %q", got)
			}
			h, err := d.Host(ctx, "h1")
			must(t, err)
			if sec, ok := st.secs["software"]; ok && string(h.Sections["software"]) != sec {
				t.Errorf("stored section %s, want %s", h.Sections["software"], sec)
			}
		})
	}

	// An unchanged section re-sent whole (after a 409 the agent sends
	// everything) rewrites no row.
	secs := map[string]string{"software": softwareJSON("a 1", "b 2")}
	postSections(t, d, "h1", c1, secs)
	var before int64
	must(t, d.db.QueryRow("SELECT MAX(id) FROM software").Scan(&before))
	s := section(t, "software", secs["software"])
	must(t, d.SaveStatus(ctx, inventory.StatusUpdate{UUID: "h1", Fingerprint: signing.Fingerprint(c1), Status: wire.StateOK, At: t0,
		ReconcileSections: true, KeepSections: map[string]string{}, SetSections: []inventory.SectionData{s}}))
	var after int64
	must(t, d.db.QueryRow("SELECT MAX(id) FROM software").Scan(&after))
	if after != before || !reflect.DeepEqual(software(t, d, "h1"), []string{"a 1", "b 2"}) {
		t.Errorf("re-sent section: software ids %d → %d, rows %q", before, after, software(t, d, "h1"))
	}
}

// TestHardwareFacts: the hardware columns follow their sections, through
// registration and reports; a section of another shape or a failed
// collector clears them, as does dropping the section.
func TestHardwareFacts(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, "")
	c := selfSigned(t, "h")
	full := map[string]string{
		"dmi":    `{"manufacturer":"Dell Inc.","model":"Latitude 7440","serial":"ABC123","uuid":"4c4c4544-0042-3510-8051-b4c04f565a33"}`,
		"cpu":    `{"model":"Intel(R) Core(TM) i7-1365U"}`,
		"memory": `{"total_bytes":17179869184}`,
		"disks":  `{"partitions":[{"device":"C:","mountpoint":"C:","fstype":"NTFS","total_bytes":512000000000,"free_bytes":0}]}`,
		"host":   `{"os":"windows","os_name":"Microsoft Windows 11 Pro","os_version":"10.0.22631","kernel_version":"10.0.22631.4460"}`,
	}
	zero := int64(0)
	fullHW := &wire.HostHardware{Manufacturer: "Dell Inc.", Model: "Latitude 7440", Serial: "ABC123", SystemUUID: "4c4c4544-0042-3510-8051-b4c04f565a33",
		CPU: "Intel(R) Core(TM) i7-1365U", RAMBytes: 17179869184, DiskTotalBytes: 512000000000, DiskFreeBytes: &zero,
		OSName: "Microsoft Windows 11 Pro", Kernel: "10.0.22631.4460"}
	registerWith(t, d, "h", c, full)
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for kk, vv := range full {
			m[kk] = vv
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	noDMI := *fullHW
	noDMI.Manufacturer, noDMI.Model, noDMI.Serial, noDMI.SystemUUID = "", "", "", ""
	noDisks := *fullHW
	noDisks.DiskTotalBytes, noDisks.DiskFreeBytes = 0, nil
	noRAM := *fullHW
	noRAM.RAMBytes = 0
	steps := []struct {
		name string
		secs map[string]string
		want *wire.HostHardware
	}{
		{"registered", nil, fullHW},
		{"dmi failed", with("dmi", `{"error":"permission denied"}`), &noDMI},
		{"dmi back", full, fullHW},
		{"dmi of another shape", with("dmi", `["Dell"]`), &noDMI},
		{"disks dropped", with("disks", ""), &noDisks},
		{"memory garbage shape", with("memory", `{"total_bytes":"lots"}`), &noRAM},
		{"everything dropped", map[string]string{}, nil},
		{"everything back", full, fullHW},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.secs != nil {
				postSections(t, d, "h", c, st.secs)
			}
			h, err := d.Host(ctx, "h")
			must(t, err)
			if !reflect.DeepEqual(h.Summary.Hardware, st.want) {
				t.Errorf("hardware\n%+v\nwant\n%+v", h.Summary.Hardware, st.want)
			}
		})
	}
}

// TestFactsBackfill: a host whose facts predate the derivation (hosts
// registered before migration 0004) gets them from its stored sections
// at its next report, even one that sends no section.
func TestFactsBackfill(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, "")
	c := selfSigned(t, "h")
	registerWith(t, d, "h", c, map[string]string{"memory": `{"total_bytes":8589934592}`, "software": softwareJSON("openssl 3.0.2")})
	_, err := d.db.Exec("UPDATE hosts SET facts_version = 0, ram_bytes = NULL; DELETE FROM host_software; DELETE FROM software")
	must(t, err)
	must(t, d.SaveStatus(ctx, inventory.StatusUpdate{UUID: "h", Fingerprint: signing.Fingerprint(c), Status: wire.StateOK, At: t0}))
	h, err := d.Host(ctx, "h")
	must(t, err)
	if h.Summary.Hardware == nil || h.Summary.Hardware.RAMBytes != 8589934592 || !reflect.DeepEqual(software(t, d, "h"), []string{"openssl 3.0.2"}) {
		t.Errorf("after backfill: %+v, %q", h.Summary.Hardware, software(t, d, "h"))
	}
}

// TestDuplicateSystemUUID: hosts reporting the same system UUID are
// flagged and listed, never merged; a revoked host does not count; the
// flags follow changes of UUID and of registration.
func TestDuplicateSystemUUID(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, "")
	dmi := func(u string) map[string]string { return map[string]string{"dmi": `{"uuid":"` + u + `"}`} }
	const clone, other = "11111111-2222-3333-4444-555555555555", "99999999-2222-3333-4444-555555555555"
	certs := map[string]*x509.Certificate{}
	for uuid, secs := range map[string]map[string]string{
		"a": dmi(clone), "b": dmi(strings.ToUpper(clone)), "c": dmi(other), "d": nil, "r": dmi(clone),
		"z": dmi("00000000-0000-0000-0000-000000000000"), "z2": dmi("00000000-0000-0000-0000-000000000000"),
	} {
		certs[uuid] = selfSigned(t, uuid)
		registerWith(t, d, uuid, certs[uuid], secs)
	}
	must(t, d.Revoke(ctx, "r", t0, inventory.AuditEntry{At: t0, Actor: "a", Action: "unregister", Target: "r"}))
	list := func(f inventory.HostFilter) map[string]bool {
		f.Sort, f.Limit = inventory.SortName, 100
		hs, total, err := d.ListHosts(ctx, f)
		must(t, err)
		if total != len(hs) {
			t.Errorf("total %d for %d hosts", total, len(hs))
		}
		out := map[string]bool{}
		for _, h := range hs {
			out[h.UUID] = h.DuplicateSystemUUID
		}
		return out
	}
	steps := []struct {
		name   string
		change func()
		flags  map[string]bool // all unrevoked hosts
		dups   []string        // duplicates=1
		same   map[string][]string
	}{
		{"registered", func() {}, map[string]bool{"a": true, "b": true, "c": false, "d": false, "z": false, "z2": false},
			[]string{"a", "b"}, map[string][]string{"a": {"b"}, "c": nil}},
		{"b gets c's UUID", func() { postSections(t, d, "b", certs["b"], dmi(other)) },
			map[string]bool{"a": false, "b": true, "c": true, "d": false, "z": false, "z2": false},
			[]string{"b", "c"}, map[string][]string{"a": nil, "b": {"c"}}},
		{"r registers again", func() {
			registerWith2(t, d, "r", certs["r"], dmi(clone))
		}, map[string]bool{"a": true, "b": true, "c": true, "d": false, "r": true, "z": false, "z2": false},
			[]string{"a", "b", "c", "r"}, map[string][]string{"a": {"r"}, "r": {"a"}}},
		{"c's DMI fails", func() { postSections(t, d, "c", certs["c"], map[string]string{"dmi": `{"error":"denied"}`}) },
			map[string]bool{"a": true, "b": false, "c": false, "d": false, "r": true, "z": false, "z2": false},
			[]string{"a", "r"}, map[string][]string{"b": nil}},
		{"a unregistered", func() {
			must(t, d.Revoke(ctx, "a", t0, inventory.AuditEntry{At: t0, Actor: "x", Action: "unregister", Target: "a"}))
		}, map[string]bool{"b": false, "c": false, "d": false, "r": false, "z": false, "z2": false},
			nil, map[string][]string{"a": {"r"}, "r": nil}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.change()
			if got := list(inventory.HostFilter{}); !reflect.DeepEqual(got, st.flags) {
				t.Errorf("flags %v, want %v", got, st.flags)
			}
			var dups []string
			for u := range list(inventory.HostFilter{Duplicates: true}) {
				dups = append(dups, u)
			}
			slices.Sort(dups)
			if !reflect.DeepEqual(dups, st.dups) {
				t.Errorf("duplicates=1: %v, want %v", dups, st.dups)
			}
			for uuid, want := range st.same {
				h, err := d.Host(ctx, uuid)
				must(t, err)
				if !reflect.DeepEqual(h.SameSystemUUID, want) {
					t.Errorf("%s: same system uuid %v, want %v", uuid, h.SameSystemUUID, want)
				}
			}
		})
	}
	if plan := explain(t, d, "SELECT h.uuid FROM hosts h WHERE h.duplicate_uuid = 1 ORDER BY h.hostname, h.uuid"); !strings.Contains(plan, "hosts_duplicate_uuid") {
		t.Errorf("duplicates=1 does not use its index:\n%s", plan)
	}
	if plan := explain(t, d, "SELECT 1 FROM hosts d WHERE d.system_uuid = ? AND d.revoked = 0 AND d.id <> ?", clone, 1); !strings.Contains(plan, "hosts_system_uuid") {
		t.Errorf("the duplicate check does not use the system_uuid index:\n%s", plan)
	}
}

// registerWith2 registers uuid again (it was revoked).
func registerWith2(tb testing.TB, d *DB, uuid string, cert *x509.Certificate, secs map[string]string) {
	tb.Helper()
	prev, err := d.HostAuth(context.Background(), uuid)
	if err != nil {
		tb.Fatal(err)
	}
	r := inventory.Registration{UUID: uuid, FQDN: uuid + ".example.lan", Hostname: uuid, Fingerprint: signing.Fingerprint(cert),
		CertDER: cert.Raw, At: t0, By: "admin", Prev: &prev}
	for _, n := range sortedKeys(secs) {
		r.Sections = append(r.Sections, section(tb, n, secs[n]))
	}
	if err := d.Register(context.Background(), r, inventory.AuditEntry{At: t0, Actor: "admin", Action: "register", Target: uuid}); err != nil {
		tb.Fatal(err)
	}
}
