package action

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/reqsign"
	"github.com/wapt-go/wapt/shared/signing"
)

func TestVerify(t *testing.T) {
	f := testFixture(t)
	install := func(tb testing.TB) Action {
		return newAction(tb, KindInstall, Args{Packages: []string{"firefox(>=115)", "vlc"}, Force: true})
	}
	bySimple := func(tb testing.TB, a Action) Signed { return sign(tb, a, f.simple, f.simple.chain(f.adminCA)) }
	// tamper signs a good install, then changes it.
	tamper := func(mut func(a *Action)) func(tb testing.TB) Signed {
		return func(tb testing.TB) Signed {
			s := bySimple(tb, install(tb))
			s.Action.Hosts = append([]string(nil), s.Action.Hosts...)
			s.Action.Args.Packages = append([]string(nil), s.Action.Args.Packages...)
			mut(&s.Action)
			if err := s.Action.Validate(); err != nil {
				tb.Fatalf("tampered action invalid: %v", err)
			}
			return s
		}
	}
	tests := []struct {
		name   string
		signed func(tb testing.TB) Signed
		setup  func(v *Verifier) // adjusts the verifier of hostA at tNow
		want   error
	}{
		{name: "simple admin installs", signed: func(tb testing.TB) Signed { return bySimple(tb, install(tb)) }},
		{name: "signer alone in the chain", signed: func(tb testing.TB) Signed {
			return sign(tb, install(tb), f.simple, f.simple.chain())
		}},
		{name: "code-signing admin (RSA) reboots", signed: func(tb testing.TB) Signed {
			return sign(tb, newAction(tb, KindReboot, Args{}), f.codeSigning, f.codeSigning.chain(f.adminCA))
		}},
		{name: "CA admin reboots", signed: func(tb testing.TB) Signed {
			return sign(tb, newAction(tb, KindReboot, Args{}), f.subCA, f.subCA.chain(f.adminCA))
		}},
		{name: "through an intermediate CA", signed: func(tb testing.TB) Signed {
			return sign(tb, install(tb), f.viaSub, f.viaSub.chain(f.subCA))
		}},
		{name: "signer trusted directly", signed: func(tb testing.TB) Signed { return bySimple(tb, install(tb)) },
			setup: func(v *Verifier) { v.Trust = signing.NewTrust(f.simple.cert) }},
		{name: "host compared ignoring case", signed: func(tb testing.TB) Signed { return bySimple(tb, install(tb)) },
			setup: func(v *Verifier) { v.Host = strings.ToUpper(hostA) }},
		{name: "cancel", signed: func(tb testing.TB) Signed {
			return bySimple(tb, newAction(tb, KindCancel, Args{TaskID: strings.Repeat("1f", 32)}))
		}},
		{name: "at issued_at minus skew", signed: func(tb testing.TB) Signed { return bySimple(tb, install(tb)) },
			setup: func(v *Verifier) { v.Now = fixedNow(tNow.Add(-DefaultSkew)) }},
		{name: "at expires_at", signed: func(tb testing.TB) Signed { return bySimple(tb, install(tb)) },
			setup: func(v *Verifier) { v.Now = fixedNow(tNow.Add(DefaultLifetime)) }},
		{name: "host CA known, simple admin still accepted", signed: func(tb testing.TB) Signed { return bySimple(tb, install(tb)) },
			setup: func(v *Verifier) { v.HostCAs = signing.NewTrust(f.hostCA.cert) }},

		// Signature.
		{name: "unsigned", want: ErrBadSignature, signed: func(tb testing.TB) Signed {
			s := bySimple(tb, install(tb))
			s.Signature = ""
			return s
		}},
		{name: "garbled signature (not base64)", want: ErrBadSignature, signed: func(tb testing.TB) Signed {
			s := bySimple(tb, install(tb))
			s.Signature = "%%" + s.Signature[2:]
			return s
		}},
		{name: "garbled signature (bits flipped)", want: ErrBadSignature, signed: func(tb testing.TB) Signed {
			s := bySimple(tb, install(tb))
			s.Signature = flipBase64(s.Signature)
			return s
		}},
		{name: "oversize signature", want: ErrBadSignature, signed: func(tb testing.TB) Signed {
			s := bySimple(tb, install(tb))
			s.Signature = strings.Repeat("A", maxSignatureLen+4)
			return s
		}},
		{name: "signature by another key", want: ErrBadSignature, signed: func(tb testing.TB) Signed {
			return rawSign(tb, install(tb), f.otherAdmin, f.simple.chain(f.adminCA))
		}},
		{name: "signature by the CA, signer chain of the simple admin", want: ErrBadSignature, signed: func(tb testing.TB) Signed {
			return rawSign(tb, install(tb), f.adminCA, f.simple.chain(f.adminCA))
		}},
		{name: "tampered action kind", want: ErrBadSignature, signed: tamper(func(a *Action) { a.Action = KindRemove })},
		{name: "tampered hosts (added)", want: ErrBadSignature, signed: tamper(func(a *Action) { a.Hosts = append(a.Hosts, "victim") })},
		{name: "tampered hosts (replaced)", want: ErrBadSignature, signed: tamper(func(a *Action) { a.Hosts[1] = "victim" })},
		{name: "tampered packages", want: ErrBadSignature, signed: tamper(func(a *Action) { a.Args.Packages[0] = "malware" })},
		{name: "tampered packages (dropped)", want: ErrBadSignature, signed: tamper(func(a *Action) { a.Args.Packages = a.Args.Packages[:1] })},
		{name: "tampered force", want: ErrBadSignature, signed: tamper(func(a *Action) { a.Args.Force = false })},
		{name: "tampered task_id", want: ErrBadSignature, signed: tamper(func(a *Action) { a.Args.TaskID = "t" })},
		{name: "tampered nonce", want: ErrBadSignature, signed: tamper(func(a *Action) { a.Nonce = strings.Repeat("0", 64) })},
		{name: "tampered issued_at", want: ErrBadSignature, signed: tamper(func(a *Action) { a.IssuedAt = a.IssuedAt.Add(time.Minute) })},
		{name: "tampered expires_at", want: ErrBadSignature, signed: tamper(func(a *Action) { a.ExpiresAt = a.ExpiresAt.Add(time.Minute) })},
		{name: "tampered times (window moved)", want: ErrBadSignature, signed: tamper(func(a *Action) {
			a.IssuedAt, a.ExpiresAt = a.IssuedAt.Add(time.Hour), a.ExpiresAt.Add(time.Hour)
		})},

		// Trust.
		{name: "chain to an untrusted CA", want: ErrUntrusted, signed: func(tb testing.TB) Signed {
			return sign(tb, install(tb), f.otherAdmin, f.otherAdmin.chain(f.otherCA))
		}},
		{name: "untrusted CA sent in the chain", want: ErrUntrusted, signed: func(tb testing.TB) Signed {
			return sign(tb, install(tb), f.otherAdmin, f.otherAdmin.chain(f.otherCA, f.adminCA))
		}},
		{name: "intermediate CA missing from the chain", want: ErrUntrusted, signed: func(tb testing.TB) Signed {
			return sign(tb, install(tb), f.viaSub, f.viaSub.chain())
		}},
		{name: "no trust anchors", want: ErrUntrusted, signed: func(tb testing.TB) Signed { return bySimple(tb, install(tb)) },
			setup: func(v *Verifier) { v.Trust = nil }},
		{name: "signer certificate expired", want: ErrUntrusted, signed: func(tb testing.TB) Signed {
			a, err := New(KindInstall, []string{hostA}, Args{Packages: []string{"x"}}, fixNow.Add(2*time.Hour), 0)
			if err != nil {
				tb.Fatal(err)
			}
			return sign(tb, a, f.shortLived, f.shortLived.chain(f.adminCA))
		}, setup: func(v *Verifier) { v.Now = fixedNow(fixNow.Add(2 * time.Hour)) }},
		{name: "host certificate (host CA not an admin anchor)", want: ErrUntrusted, signed: func(tb testing.TB) Signed {
			return sign(tb, install(tb), f.host, f.host.chain(f.hostCA))
		}},

		// Role.
		{name: "host certificate, host CA wrongly trusted", want: ErrRole, signed: func(tb testing.TB) Signed {
			return sign(tb, install(tb), f.host, f.host.chain(f.hostCA))
		}, setup: func(v *Verifier) {
			v.Trust = signing.NewTrust(f.adminCA.cert, f.hostCA.cert)
			v.HostCAs = signing.NewTrust(f.hostCA.cert)
		}},
		{name: "host CA itself, wrongly trusted", want: ErrRole, signed: func(tb testing.TB) Signed {
			return sign(tb, install(tb), f.hostCA, f.hostCA.chain())
		}, setup: func(v *Verifier) {
			v.Trust = signing.NewTrust(f.adminCA.cert, f.hostCA.cert)
			v.HostCAs = signing.NewTrust(f.hostCA.cert)
		}},
		{name: "repository certificate (documentSigning)", want: ErrRole, signed: func(tb testing.TB) Signed {
			return sign(tb, install(tb), f.repo, f.repo.chain(f.adminCA))
		}},
		{name: "TLS server certificate", want: ErrRole, signed: func(tb testing.TB) Signed {
			return sign(tb, install(tb), f.tls, f.tls.chain(f.adminCA))
		}},
		{name: "certificate without EKU", want: ErrRole, signed: func(tb testing.TB) Signed {
			return sign(tb, install(tb), f.noEKU, f.noEKU.chain(f.adminCA))
		}},
		{name: "reboot by a simple admin", want: ErrRole, signed: func(tb testing.TB) Signed {
			return bySimple(tb, newAction(tb, KindReboot, Args{}))
		}},

		// Host.
		{name: "other host", want: ErrNotForHost, signed: func(tb testing.TB) Signed { return bySimple(tb, install(tb)) },
			setup: func(v *Verifier) { v.Host = "11111111-2222-3333-4444-555555555555" }},
		{name: "host prefix", want: ErrNotForHost, signed: func(tb testing.TB) Signed { return bySimple(tb, install(tb)) },
			setup: func(v *Verifier) { v.Host = hostA[:8] }},

		// Time.
		{name: "expired", want: ErrExpired, signed: func(tb testing.TB) Signed { return bySimple(tb, install(tb)) },
			setup: func(v *Verifier) { v.Now = fixedNow(tNow.Add(DefaultLifetime + time.Nanosecond)) }},
		{name: "not yet valid beyond skew", want: ErrExpired, signed: func(tb testing.TB) Signed { return bySimple(tb, install(tb)) },
			setup: func(v *Verifier) { v.Now = fixedNow(tNow.Add(-DefaultSkew - time.Second)) }},
		{name: "not yet valid beyond a custom skew", want: ErrExpired, signed: func(tb testing.TB) Signed { return bySimple(tb, install(tb)) },
			setup: func(v *Verifier) { v.Skew, v.Now = 10*time.Second, fixedNow(tNow.Add(-11*time.Second)) }},

		// Invalid.
		{name: "lifetime above 10 minutes", want: ErrInvalid, signed: func(tb testing.TB) Signed {
			a := install(tb)
			a.ExpiresAt = a.IssuedAt.Add(MaxLifetime + time.Second)
			return rawSign(tb, a, f.simple, f.simple.chain(f.adminCA))
		}},
		{name: "unknown kind", want: ErrInvalid, signed: func(tb testing.TB) Signed {
			a := install(tb)
			a.Action = "shell"
			return rawSign(tb, a, f.simple, f.simple.chain(f.adminCA))
		}},
		{name: "no signer chain", want: ErrInvalid, signed: func(tb testing.TB) Signed {
			s := bySimple(tb, install(tb))
			s.Signer = ""
			return s
		}},
		{name: "garbled signer chain", want: ErrInvalid, signed: func(tb testing.TB) Signed {
			s := bySimple(tb, install(tb))
			s.Signer = strings.Replace(s.Signer, "MII", "xyz", 1)
			return s
		}},
		{name: "signer chain too long", want: ErrInvalid, signed: func(tb testing.TB) Signed {
			chain := f.simple.chain()
			for range MaxChain {
				chain = append(chain, f.adminCA.cert)
			}
			return rawSign(tb, install(tb), f.simple, chain)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := f.verifier()
			nonces := &countingNonces{NonceStore: v.Nonces}
			v.Nonces = nonces
			if tt.setup != nil {
				tt.setup(v)
			}
			s := tt.signed(t)
			signer, err := v.Verify(t.Context(), s)
			checkSentinel(t, err, tt.want)
			if tt.want != nil {
				t.Log(err)
				if signer != nil {
					t.Error("a refusal returned a signer")
				}
				if nonces.calls != 0 {
					t.Errorf("refused action reached the nonce store (%d calls)", nonces.calls)
				}
				return
			}
			chain, _ := certs.ParseCertsPEM([]byte(s.Signer))
			if signer == nil || !signer.Equal(chain[0]) {
				t.Errorf("signer %v, want %v", signer, chain[0].Subject)
			}
			if nonces.calls != 1 {
				t.Errorf("%d calls to the nonce store, want 1", nonces.calls)
			}
			// The same action again is a replay.
			_, err = v.Verify(t.Context(), s)
			checkSentinel(t, err, ErrReplayed)
		})
	}
}

func fixedNow(t time.Time) func() time.Time { return func() time.Time { return t } }

// flipBase64 changes one bit of the middle byte of a base64 signature.
func flipBase64(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func TestVerifyReplay(t *testing.T) {
	f := testFixture(t)
	v := f.verifier()
	s := sign(t, newAction(t, KindUpgrade, Args{}), f.simple, f.simple.chain(f.adminCA))
	if _, err := v.Verify(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	_, err := v.Verify(t.Context(), s)
	checkSentinel(t, err, ErrReplayed)

	// A re-encoded copy (other time zone, JSON round trip) is the same action.
	b, _ := s.Marshal()
	again, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	again.Action.IssuedAt = again.Action.IssuedAt.In(time.FixedZone("X", 5*3600))
	_, err = v.Verify(t.Context(), again)
	checkSentinel(t, err, ErrReplayed)

	// Another host of the same action keeps its own cache: each agent runs it once.
	vb := f.verifier()
	vb.Host = hostB
	if _, err := vb.Verify(t.Context(), s); err != nil {
		t.Fatal(err)
	}
}

// TestRefusedDoesNotBurnNonce checks that an action refused for a reason
// that may pass later (clock, wrong agent) can still run once.
func TestRefusedDoesNotBurnNonce(t *testing.T) {
	f := testFixture(t)
	v := f.verifier()
	s := sign(t, newAction(t, KindInventory, Args{}), f.simple, f.simple.chain(f.adminCA))

	early := *v
	early.Now = fixedNow(tNow.Add(-time.Hour))
	_, err := early.Verify(t.Context(), s)
	checkSentinel(t, err, ErrExpired)

	other := *v
	other.Host = "not-" + hostA
	_, err = other.Verify(t.Context(), s)
	checkSentinel(t, err, ErrNotForHost)

	tampered := s
	tampered.Action.Args.Force = true
	_, err = v.Verify(t.Context(), tampered)
	checkSentinel(t, err, ErrBadSignature)

	if _, err := v.Verify(t.Context(), s); err != nil {
		t.Fatalf("after refusals: %v", err)
	}
	_, err = v.Verify(t.Context(), s)
	checkSentinel(t, err, ErrReplayed)
}

type failingNonces struct{}

var errStore = errors.New("disk full")

func (failingNonces) Seen(context.Context, string, time.Time) (bool, error) { return false, errStore }

func TestVerifyConfig(t *testing.T) {
	f := testFixture(t)
	s := sign(t, newAction(t, KindAudit, Args{}), f.simple, f.simple.chain(f.adminCA))
	tests := []struct {
		name  string
		setup func(v *Verifier)
		is    error
	}{
		{name: "no host", setup: func(v *Verifier) { v.Host = "" }},
		{name: "no nonce store", setup: func(v *Verifier) { v.Nonces = nil }},
		{name: "nonce store fails", setup: func(v *Verifier) { v.Nonces = failingNonces{} }, is: errStore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := f.verifier()
			tt.setup(v)
			signer, err := v.Verify(t.Context(), s)
			if err == nil || signer != nil {
				t.Fatalf("Verify = %v, %v", signer, err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v, want %v", err, tt.is)
			}
			for _, s := range sentinels {
				if errors.Is(err, s) {
					t.Errorf("configuration error %v wraps %v", err, s)
				}
			}
		})
	}
}

// TestVerifyConcurrent runs one action through one verifier from many
// goroutines: exactly one may run it.
func TestVerifyConcurrent(t *testing.T) {
	f := testFixture(t)
	v := f.verifier()
	s := sign(t, newAction(t, KindUpdate, Args{}), f.simple, f.simple.chain(f.adminCA))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		accepted int
	)
	for range 16 {
		wg.Go(func() {
			_, err := v.Verify(context.Background(), s)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				accepted++
			case !errors.Is(err, ErrReplayed):
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if accepted != 1 {
		t.Errorf("%d verifications accepted, want 1", accepted)
	}
}

var _ NonceStore = (*reqsign.MemoryNonces)(nil)

func BenchmarkVerify(b *testing.B) {
	f := testFixture(b)
	for _, bc := range []struct {
		name  string
		k     keyCert
		chain []*x509.Certificate
	}{
		{"ecdsa-p256", f.simple, f.simple.chain(f.adminCA)},
		{"rsa-2048", f.codeSigning, f.codeSigning.chain(f.adminCA)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := sign(b, newAction(b, KindInstall, Args{Packages: []string{"firefox"}}), bc.k, bc.chain)
			v := f.verifier()
			v.Nonces = neverSeen{}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
