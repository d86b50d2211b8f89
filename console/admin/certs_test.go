package admin

import (
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/signing"
)

func TestGenerateCert(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pw := []byte("12345678")
	caKey, caCert, err := GenerateCert(CertSpec{CN: "Test CA", Kind: "ca", KeyType: "ecdsa", Password: pw, OutDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	issuer := func(s CertSpec) CertSpec {
		s.IssuerCertPath, s.IssuerKeyPath = caCert, caKey
		return s
	}
	tests := []struct {
		name    string
		spec    CertSpec
		badKeys []string // nil: success
		err     error    // another expected error
		role    certs.Role
	}{
		{"code-signing ecdsa", issuer(CertSpec{CN: "alice", Kind: "code-signing", KeyType: "ecdsa", Password: pw, Email: "alice@example.org", Validity: 24 * time.Hour}), nil, nil, certs.RoleCodeSigning},
		{"simple rsa", issuer(CertSpec{CN: "bob smith", Kind: "simple", Bits: 2048, Password: pw}), nil, nil, certs.RoleSimple},
		{"issuer password", issuer(CertSpec{CN: "carol", Kind: "simple", KeyType: "ecdsa", Password: []byte("another password"), IssuerPassword: pw}), nil, nil, certs.RoleSimple},
		{"wrong issuer password", issuer(CertSpec{CN: "dave", Kind: "simple", KeyType: "ecdsa", Password: []byte("another password")}), nil, ErrWrongPassword, 0},
		{"empty CN", issuer(CertSpec{CN: " ", Kind: "simple", KeyType: "ecdsa", Password: pw}), []string{"cn"}, nil, 0},
		{"CN as a path", issuer(CertSpec{CN: "../x", Kind: "simple", KeyType: "ecdsa", Password: pw}), []string{"cn"}, nil, 0},
		{"short password", issuer(CertSpec{CN: "eve", Kind: "simple", KeyType: "ecdsa", Password: []byte("1234567")}), []string{"password"}, nil, 0},
		{"weak RSA", issuer(CertSpec{CN: "eve", Kind: "simple", Bits: 1024, Password: pw}), []string{"bits"}, nil, 0},
		{"bad curve", issuer(CertSpec{CN: "eve", Kind: "simple", KeyType: "ecdsa", Bits: 255, Password: pw}), []string{"bits"}, nil, 0},
		{"unknown key type", issuer(CertSpec{CN: "eve", Kind: "simple", KeyType: "dsa", Password: pw}), []string{"key_type"}, nil, 0},
		{"unknown kind", issuer(CertSpec{CN: "eve", Kind: "root", KeyType: "ecdsa", Password: pw}), []string{"kind"}, nil, 0},
		{"self-signed simple", CertSpec{CN: "eve", Kind: "simple", KeyType: "ecdsa", Password: pw, OutDir: dir}, []string{"issuer"}, nil, 0},
		{"issuer key without cert", CertSpec{CN: "eve", Kind: "ca", KeyType: "ecdsa", Password: pw, IssuerKeyPath: caKey}, []string{"issuer"}, nil, 0},
		{"negative validity", issuer(CertSpec{CN: "eve", Kind: "simple", KeyType: "ecdsa", Password: pw, Validity: -time.Hour}), []string{"validity"}, nil, 0},
		{"existing files", issuer(CertSpec{CN: "Test CA", Kind: "simple", KeyType: "ecdsa", Password: pw}), []string{"out_dir"}, nil, 0},
		{"several", CertSpec{Kind: "x", Password: nil}, []string{"cn", "kind", "password", "out_dir"}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.spec
			if spec.OutDir == "" && !slices.Contains(tt.badKeys, "out_dir") {
				spec.OutDir = dir
			}
			keyPath, certPath, err := GenerateCert(spec)
			switch {
			case tt.err != nil:
				if !errors.Is(err, tt.err) {
					t.Fatalf("GenerateCert = %v, want %v", err, tt.err)
				}
				return
			case tt.badKeys != nil:
				var fe FieldErrors
				if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("GenerateCert = %v, want FieldErrors", err)
				}
				want := slices.Sorted(slices.Values(tt.badKeys))
				if keys := sortedKeys(fe); !slices.Equal(keys, want) {
					t.Errorf("fields = %v, want keys %v", fe, want)
				}
				return
			case err != nil:
				t.Fatalf("GenerateCert: %v", err)
			}
			if fi, err := os.Stat(keyPath); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("key file %s: %v %v", keyPath, fi.Mode(), err)
			}
			key, err := certs.LoadKey(keyPath, spec.Password)
			must(t, err)
			chain, err := certs.LoadCerts(certPath)
			must(t, err)
			if len(chain) != 2 || !certs.KeyMatchesCert(key, chain[0]) || chain[0].Subject.CommonName != spec.CN {
				t.Fatalf("chain %d certs, CN %q", len(chain), chain[0].Subject.CommonName)
			}
			if err := signing.NewTrust(chain[1]).VerifyChain(chain, time.Now(), tt.role == certs.RoleCodeSigning); err != nil {
				t.Errorf("chain: %v", err)
			}
			if got := signing.IsCodeSigning(chain[0]); got != (tt.role == certs.RoleCodeSigning) {
				t.Errorf("code signing = %v", got)
			}
			if chain[0].IsCA {
				t.Error("a leaf is a CA")
			}
			if filepath.Base(keyPath) != spec.CN+".pem" || filepath.Base(certPath) != spec.CN+".crt" {
				t.Errorf("files %s %s", keyPath, certPath)
			}
		})
	}
	cas, err := certs.LoadCerts(caCert)
	must(t, err)
	if len(cas) != 1 || !cas[0].IsCA || cas[0].KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("CA certificate: %+v", cas[0])
	}
	if _, err := certs.LoadKey(caKey, []byte("wrong password")); !errors.Is(err, certs.ErrBadPassword) {
		t.Errorf("CA key with a wrong password: %v", err)
	}
}

func TestSettings(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "waptconsole", "settings.json")
	s, err := LoadSettings(path)
	if err != nil || !reflect.DeepEqual(s, Settings{}) {
		t.Fatalf("LoadSettings of a missing file = %+v, %v", s, err)
	}
	want := Settings{ServerURL: "https://wapt.example.lan", ServerCA: "/ca.crt", CertPath: "/a.crt", KeyPath: "/a.pem",
		PKCS11Module: "/lib/softhsm.so", TokenLabel: "tok", RecentPackageDirs: []string{"/src/a", "/src/b"}}
	must(t, SaveSettings(path, want))
	got, err := LoadSettings(path)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("LoadSettings = %+v, %v", got, err)
	}
	for p, mode := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v (%v)", p, fi.Mode().Perm(), mode, err)
		}
	}
	must(t, os.WriteFile(path, []byte("{not json"), 0o600))
	if _, err := LoadSettings(path); err == nil {
		t.Error("LoadSettings of a corrupt file succeeded")
	}
	if p, err := SettingsPath(); err == nil && filepath.Base(p) != "settings.json" {
		t.Errorf("SettingsPath = %s", p)
	}
}
