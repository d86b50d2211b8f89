package wire

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

var (
	hashA = strings.Repeat("a", 64)
	hashB = strings.Repeat("b", 64)
)

func testCSR(tb testing.TB) string {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "host-1"}}, key)
	if err != nil {
		tb.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func testCert(tb testing.TB) string {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "admin"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		tb.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// wantFields checks that err is nil when want is empty, or a *FieldsError
// wrapping ErrInvalid with a reason for (at least) every key of want.
func wantFields(t *testing.T, err error, want ...string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("error %v does not wrap ErrInvalid", err)
	}
	var fe *FieldsError
	if !errors.As(err, &fe) {
		t.Fatalf("error %T is not a *FieldsError", err)
	}
	for _, k := range want {
		if fe.Fields[k] == "" {
			t.Errorf("no reason for %q in %v", k, fe.Fields)
		}
	}
	if len(fe.Fields) != len(want) {
		t.Errorf("fields = %v, want only %v", fe.Fields, want)
	}
}

func TestRegisterRequestValidate(t *testing.T) {
	t.Parallel()
	csr := testCSR(t)
	valid := func() RegisterRequest {
		return RegisterRequest{
			UUID: "6B3D2D5A-1F2E-4C1B-9A55-0123456789AB", FQDN: "pc-01.example.org", Hostname: "PC-01",
			CSR: csr, Token: "tok", Sections: map[string]json.RawMessage{"host": json.RawMessage(`{"os":"Windows"}`)},
		}
	}
	tests := []struct {
		name   string
		mod    func(r *RegisterRequest)
		fields []string
	}{
		{"valid", func(r *RegisterRequest) {}, nil},
		{"fqdn-like uuid", func(r *RegisterRequest) { r.UUID = "pc-01.example.org" }, nil},
		{"no token no sections no hostname", func(r *RegisterRequest) { r.Token, r.Sections, r.Hostname = "", nil, "" }, nil},
		{"empty", func(r *RegisterRequest) { *r = RegisterRequest{} }, []string{"uuid", "fqdn", "csr"}},
		{"uuid too long", func(r *RegisterRequest) { r.UUID = strings.Repeat("a", 65) }, []string{"uuid"}},
		{"uuid 64", func(r *RegisterRequest) { r.UUID = strings.Repeat("a", 64) }, nil},
		{"uuid slash", func(r *RegisterRequest) { r.UUID = "a/b" }, []string{"uuid"}},
		{"uuid braces", func(r *RegisterRequest) { r.UUID = "{abc}" }, []string{"uuid"}},
		{"uuid dotdot", func(r *RegisterRequest) { r.UUID = ".." }, []string{"uuid"}},
		{"fqdn space", func(r *RegisterRequest) { r.FQDN = "pc 01" }, []string{"fqdn"}},
		{"hostname too long", func(r *RegisterRequest) { r.Hostname = strings.Repeat("h", 254) }, []string{"hostname"}},
		{"csr not pem", func(r *RegisterRequest) { r.CSR = "hello" }, []string{"csr"}},
		{"csr wrong type", func(r *RegisterRequest) { r.CSR = testCert(t) }, []string{"csr"}},
		{"csr too big", func(r *RegisterRequest) { r.CSR = csr + strings.Repeat("x", 16<<10) }, []string{"csr"}},
		{"token too long", func(r *RegisterRequest) { r.Token = strings.Repeat("t", 257) }, []string{"token"}},
		{"token control", func(r *RegisterRequest) { r.Token = "a\nb" }, []string{"token"}},
		{"bad section name", func(r *RegisterRequest) { r.Sections["Host"] = json.RawMessage(`1`) }, []string{"sections.Host"}},
		{"section name too long", func(r *RegisterRequest) { r.Sections[strings.Repeat("s", 33)] = json.RawMessage(`1`) }, []string{"sections." + strings.Repeat("s", 33)}},
		{"section bad json", func(r *RegisterRequest) { r.Sections["dmi"] = json.RawMessage(`{`) }, []string{"sections.dmi"}},
		{"section empty", func(r *RegisterRequest) { r.Sections["dmi"] = nil }, []string{"sections.dmi"}},
		{"too many sections", func(r *RegisterRequest) {
			for i := range MaxSections {
				r.Sections["s"+big.NewInt(int64(i)).String()] = json.RawMessage(`1`)
			}
		}, []string{"sections"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := valid()
			tt.mod(&r)
			wantFields(t, r.Validate(), tt.fields...)
		})
	}
}

func TestStatusReportValidate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	valid := func() StatusReport {
		return StatusReport{
			UUID: "host-1", Time: now, HostStatus: StateNeedUpgrade,
			Packages: []PackageState{
				{Package: "tis-firefox", Version: "120.0-1", Status: "OK", State: StateNeedUpgrade, InstallDate: now, Explicit: true},
				{Package: "tis-7zip", Version: "23.01-2", State: StateNeedInstall},
				{Package: "tis-bad", Version: "1-1", Status: "ERROR", State: StateError, LastError: "exit code 1\nTraceback:\n\tline", AuditStatus: "ERROR"},
			},
			Problems:      []string{"repository unreachable"},
			LastUpdate:    &RunSummary{Time: now, OK: true},
			LastUpgrade:   &RunSummary{Time: now, Error: "tis-bad failed"},
			Sections:      map[string]Section{"host": {Hash: hashA, Data: json.RawMessage(`{"a":1}`)}},
			SectionHashes: map[string]string{"host": hashA, "dmi": hashB},
		}
	}
	tests := []struct {
		name   string
		mod    func(r *StatusReport)
		fields []string
	}{
		{"valid", func(r *StatusReport) {}, nil},
		{"minimal", func(r *StatusReport) { *r = StatusReport{UUID: "h", Time: now} }, nil},
		{"empty", func(r *StatusReport) { *r = StatusReport{} }, []string{"uuid", "time"}},
		{"bad host status", func(r *StatusReport) { r.HostStatus = "FINE" }, []string{"host_status"}},
		{"package name missing", func(r *StatusReport) { r.Packages[1].Package = "" }, []string{"packages[1].package"}},
		{"package name space", func(r *StatusReport) { r.Packages[1].Package = "a b" }, []string{"packages[1].package"}},
		{"package name too long", func(r *StatusReport) { r.Packages[0].Package = strings.Repeat("p", 201) }, []string{"packages[0].package"}},
		{"duplicate package", func(r *StatusReport) { r.Packages[2].Package = "tis-firefox" }, []string{"packages[2].package"}},
		{"bad state", func(r *StatusReport) { r.Packages[0].State = "MAYBE" }, []string{"packages[0].state"}},
		{"version control char", func(r *StatusReport) { r.Packages[0].Version = "1\n2" }, []string{"packages[0].version"}},
		{"status too long", func(r *StatusReport) { r.Packages[0].Status = strings.Repeat("S", 33) }, []string{"packages[0].status"}},
		{"last error too long", func(r *StatusReport) { r.Packages[2].LastError = strings.Repeat("e", MaxErrorLen+1) }, []string{"packages[2].last_error"}},
		{"last error bad utf8", func(r *StatusReport) { r.Packages[2].LastError = "\xff" }, []string{"packages[2].last_error"}},
		{"too many packages", func(r *StatusReport) { r.Packages = make([]PackageState, MaxPackages+1) }, []string{"packages"}},
		{"max packages", func(r *StatusReport) {
			r.Packages = make([]PackageState, MaxPackages)
			for i := range r.Packages {
				r.Packages[i] = PackageState{Package: "p" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + big.NewInt(int64(i)).String()}
			}
		}, nil},
		{"too many problems", func(r *StatusReport) { r.Problems = make([]string, MaxProblems+1) }, []string{"problems"}},
		{"problem control char", func(r *StatusReport) { r.Problems[0] = "a\x00" }, []string{"problems[0]"}},
		{"run without time", func(r *StatusReport) { r.LastUpgrade.Time = time.Time{} }, []string{"last_upgrade.time"}},
		{"bad section name", func(r *StatusReport) {
			r.Sections["Bad-Name"] = Section{Hash: hashA, Data: json.RawMessage(`1`)}
		}, []string{"sections.Bad-Name"}},
		{"section hash mismatch", func(r *StatusReport) { r.SectionHashes["host"] = hashB }, []string{"sections.host.hash"}},
		{"section missing from hashes", func(r *StatusReport) { delete(r.SectionHashes, "host") }, []string{"sections.host.hash"}},
		{"section hash not hex", func(r *StatusReport) {
			r.Sections["host"] = Section{Hash: strings.Repeat("G", 64), Data: json.RawMessage(`1`)}
			r.SectionHashes["host"] = strings.Repeat("G", 64)
		}, []string{"sections.host.hash", "section_hashes.host"}},
		{"section hash too short", func(r *StatusReport) { r.SectionHashes["dmi"] = "abc" }, []string{"section_hashes.dmi"}},
		{"section data empty", func(r *StatusReport) { r.Sections["host"] = Section{Hash: hashA} }, []string{"sections.host.data"}},
		{"bad hashes name", func(r *StatusReport) { r.SectionHashes["a b"] = hashA }, []string{"section_hashes.a b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := valid()
			tt.mod(&r)
			wantFields(t, r.Validate(), tt.fields...)
		})
	}
}

func TestAdminRegisterRequestValidate(t *testing.T) {
	t.Parallel()
	cert := testCert(t)
	tests := []struct {
		name   string
		req    AdminRegisterRequest
		fields []string
	}{
		{"valid", AdminRegisterRequest{Certificate: cert, Rights: []string{RightView, RightAdmin}, BootstrapPassword: "pw"}, nil},
		{"empty", AdminRegisterRequest{}, []string{"certificate", "rights"}},
		{"csr instead of cert", AdminRegisterRequest{Certificate: testCSR(t), Rights: Rights}, []string{"certificate"}},
		{"unknown right", AdminRegisterRequest{Certificate: cert, Rights: []string{"view", "root"}}, []string{"rights[1]"}},
		{"duplicate right", AdminRegisterRequest{Certificate: cert, Rights: []string{"view", "admin", "view"}}, []string{"rights[2]"}},
		{"password too long", AdminRegisterRequest{Certificate: cert, Rights: Rights, BootstrapPassword: strings.Repeat("p", 1025)}, []string{"bootstrap_password"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wantFields(t, tt.req.Validate(), tt.fields...)
		})
	}
}

func TestFieldsErrorMessage(t *testing.T) {
	t.Parallel()
	err := error(&FieldsError{Fields: map[string]string{"b": "bad", "a": "required"}})
	if got, want := err.Error(), "invalid request: a: required; b: bad"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestJSONNames pins the snake_case wire names that other programs rely on.
func TestJSONNames(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"status report", StatusReport{UUID: "h", Time: now, HostStatus: StateOK,
			Packages:      []PackageState{{Package: "p", Version: "1", Status: "OK", State: StateOK, LastError: "e", AuditStatus: "OK", InstallDate: now, Explicit: true}},
			LastUpgrade:   &RunSummary{Time: now, OK: true},
			Sections:      map[string]Section{"host": {Hash: hashA, Data: json.RawMessage(`{}`)}},
			SectionHashes: map[string]string{"host": hashA}},
			`{"uuid":"h","time":"2026-03-01T12:00:00Z","host_status":"OK","packages":[{"package":"p","version":"1","status":"OK","state":"OK","last_error":"e","audit_status":"OK","install_date":"2026-03-01T12:00:00Z","explicit":true}],"last_upgrade":{"time":"2026-03-01T12:00:00Z","ok":true},"sections":{"host":{"hash":"` + hashA + `","data":{}}},"section_hashes":{"host":"` + hashA + `"}}`},
		{"package state omits zero", PackageState{Package: "p"}, `{"package":"p"}`},
		{"register", RegisterRequest{UUID: "u", FQDN: "f", CSR: "c"}, `{"uuid":"u","fqdn":"f","csr":"c"}`},
		{"register response", RegisterResponse{Certificate: "c", CA: "a"}, `{"certificate":"c","ca":"a"}`},
		{"admin", AdminRegisterRequest{Certificate: "c", Rights: []string{"view"}, BootstrapPassword: "p"}, `{"certificate":"c","rights":["view"],"bootstrap_password":"p"}`},
		{"host list", HostList{Hosts: []HostSummary{{UUID: "u", FQDN: "f", OSVersion: "11", Pending: 2, Registered: now}}, Total: 1, Limit: 50},
			`{"hosts":[{"uuid":"u","fqdn":"f","os_version":"11","pending":2,"errors":0,"registered":"2026-03-01T12:00:00Z"}],"total":1,"offset":0,"limit":50}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}
