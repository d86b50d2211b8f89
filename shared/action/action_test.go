package action

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// sentinels are the refusals of the package; each error wraps exactly one.
var sentinels = []error{ErrInvalid, ErrBadSignature, ErrUntrusted, ErrRole, ErrNotForHost, ErrExpired, ErrReplayed}

// checkSentinel fails unless err wraps want and no other sentinel (want nil:
// err must be nil).
func checkSentinel(t *testing.T, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
	for _, s := range sentinels {
		if s != want && errors.Is(err, s) {
			t.Fatalf("error %v wraps %v as well as %v", err, s, want)
		}
	}
}

func TestNew(t *testing.T) {
	hosts := []string{hostA}
	tests := []struct {
		name     string
		kind     string
		args     Args
		lifetime time.Duration
		wantLife time.Duration
		wantErr  bool
	}{
		{name: "default lifetime", kind: KindUpdate, wantLife: DefaultLifetime},
		{name: "explicit lifetime", kind: KindUpgrade, lifetime: time.Minute, wantLife: time.Minute},
		{name: "max lifetime", kind: KindAudit, lifetime: MaxLifetime, wantLife: MaxLifetime},
		{name: "lifetime above max", kind: KindAudit, lifetime: MaxLifetime + time.Nanosecond, wantErr: true},
		{name: "negative lifetime", kind: KindAudit, lifetime: -time.Second, wantErr: true},
		{name: "install", kind: KindInstall, args: Args{Packages: []string{"firefox(>=115)"}, Force: true}, wantLife: DefaultLifetime},
		{name: "install without packages", kind: KindInstall, wantErr: true},
		{name: "unknown kind", kind: "format-c", wantErr: true},
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("CET", 3600))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(tt.kind, hosts, tt.args, now, tt.lifetime)
			if tt.wantErr {
				checkSentinel(t, err, ErrInvalid)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !a.IssuedAt.Equal(now) || a.IssuedAt.Location() != time.UTC || a.ExpiresAt.Sub(a.IssuedAt) != tt.wantLife {
				t.Errorf("times %v .. %v", a.IssuedAt, a.ExpiresAt)
			}
			if a.Action != tt.kind || len(a.Hosts) != 1 || a.Hosts[0] != hostA || a.Args.Force != tt.args.Force {
				t.Errorf("action %+v", a)
			}
			if err := a.Validate(); err != nil {
				t.Error(err)
			}
		})
	}

	// Nonces are random; New copies its slices.
	a, _ := New(KindInstall, hosts, Args{Packages: []string{"vlc"}}, now, 0)
	b, _ := New(KindInstall, hosts, Args{Packages: []string{"vlc"}}, now, 0)
	if a.Nonce == b.Nonce || !validNonce(a.Nonce) {
		t.Errorf("nonces %q %q", a.Nonce, b.Nonce)
	}
	hs, pk := []string{hostA}, []string{"vlc"}
	c, _ := New(KindRemove, hs, Args{Packages: pk}, now, 0)
	hs[0], pk[0] = "changed", "changed"
	if c.Hosts[0] != hostA || c.Args.Packages[0] != "vlc" {
		t.Errorf("New shares the caller's slices: %+v", c)
	}
}

func TestValidate(t *testing.T) {
	valid := func() Action {
		return Action{
			Action: KindInstall, Hosts: []string{hostA, hostB}, Args: Args{Packages: []string{"firefox", "vlc(=3.0.20-1)"}},
			Nonce: strings.Repeat("0123456789abcdef", 4), IssuedAt: tNow, ExpiresAt: tNow.Add(5 * time.Minute),
		}
	}
	manyHosts := make([]string, MaxHosts+1)
	for i := range manyHosts {
		manyHosts[i] = fmt.Sprintf("host-%06d", i)
	}
	tests := []struct {
		name   string
		mutate func(a *Action)
		ok     bool
	}{
		{name: "valid", mutate: func(*Action) {}, ok: true},
		{name: "unknown kind", mutate: func(a *Action) { a.Action = "Install" }},
		{name: "empty kind", mutate: func(a *Action) { a.Action = "" }},
		{name: "no hosts", mutate: func(a *Action) { a.Hosts = nil }},
		{name: "empty host", mutate: func(a *Action) { a.Hosts = []string{hostA, ""} }},
		{name: "host with control char", mutate: func(a *Action) { a.Hosts = []string{"a\nb"} }},
		{name: "host with DEL", mutate: func(a *Action) { a.Hosts = []string{"a\x7fb"} }},
		{name: "host with spaces around", mutate: func(a *Action) { a.Hosts = []string{" " + hostA} }},
		{name: "host invalid UTF-8", mutate: func(a *Action) { a.Hosts = []string{"a\xffb"} }},
		{name: "host of 255 bytes", mutate: func(a *Action) { a.Hosts = []string{strings.Repeat("h", 255)} }, ok: true},
		{name: "host of 256 bytes", mutate: func(a *Action) { a.Hosts = []string{strings.Repeat("h", 256)} }},
		{name: "duplicate host", mutate: func(a *Action) { a.Hosts = []string{hostA, hostB, hostA} }},
		{name: "duplicate host ignoring case", mutate: func(a *Action) { a.Hosts = []string{hostA, strings.ToUpper(hostA)} }},
		{name: "duplicate host ignoring Unicode case", mutate: func(a *Action) { a.Hosts = []string{"poste-ſ", "POSTE-S"} }},
		{name: "non-ASCII hosts", mutate: func(a *Action) { a.Hosts = []string{"poste-é", "poste-e"} }, ok: true},
		{name: "too many hosts", mutate: func(a *Action) { a.Hosts = manyHosts }},
		{name: "max hosts", mutate: func(a *Action) { a.Hosts = manyHosts[:MaxHosts] }, ok: true},
		{name: "install without packages", mutate: func(a *Action) { a.Args.Packages = nil }},
		{name: "remove without packages", mutate: func(a *Action) { a.Action, a.Args.Packages = KindRemove, []string{} }},
		{name: "forget without packages", mutate: func(a *Action) { a.Action, a.Args.Packages = KindForget, nil }},
		{name: "upgrade without packages", mutate: func(a *Action) { a.Action, a.Args.Packages = KindUpgrade, nil }, ok: true},
		{name: "bad package request", mutate: func(a *Action) { a.Args.Packages = []string{"firefox(>>1)"} }},
		{name: "empty package", mutate: func(a *Action) { a.Args.Packages = []string{"firefox", ""} }},
		{name: "package invalid UTF-8", mutate: func(a *Action) { a.Args.Packages = []string{"firefox(=1\xff)"} }},
		{name: "too many packages", mutate: func(a *Action) { a.Args.Packages = make([]string, maxPackages+1) }},
		{name: "cancel", mutate: func(a *Action) { a.Action, a.Args = KindCancel, Args{TaskID: a.Nonce} }, ok: true},
		{name: "cancel without task", mutate: func(a *Action) { a.Action, a.Args = KindCancel, Args{} }},
		{name: "task with control char", mutate: func(a *Action) { a.Action, a.Args = KindCancel, Args{TaskID: "t\x00"} }},
		{name: "task too long", mutate: func(a *Action) { a.Action, a.Args = KindCancel, Args{TaskID: strings.Repeat("t", 256)} }},
		{name: "empty nonce", mutate: func(a *Action) { a.Nonce = "" }},
		{name: "short nonce", mutate: func(a *Action) { a.Nonce = a.Nonce[:62] }},
		{name: "uppercase nonce", mutate: func(a *Action) { a.Nonce = strings.ToUpper(a.Nonce) }},
		{name: "non-hex nonce", mutate: func(a *Action) { a.Nonce = "g" + a.Nonce[1:] }},
		{name: "zero issued_at", mutate: func(a *Action) { a.IssuedAt = time.Time{} }},
		{name: "zero expires_at", mutate: func(a *Action) { a.ExpiresAt = time.Time{} }},
		{name: "expires before issued", mutate: func(a *Action) { a.ExpiresAt = a.IssuedAt.Add(-time.Second) }},
		{name: "empty window", mutate: func(a *Action) { a.ExpiresAt = a.IssuedAt }},
		{name: "window of 10 min", mutate: func(a *Action) { a.ExpiresAt = a.IssuedAt.Add(MaxLifetime) }, ok: true},
		{name: "window above 10 min", mutate: func(a *Action) { a.ExpiresAt = a.IssuedAt.Add(MaxLifetime + time.Nanosecond) }},
		{name: "year above 9999", mutate: func(a *Action) {
			a.IssuedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
			a.ExpiresAt = a.IssuedAt.Add(time.Minute)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := valid()
			tt.mutate(&a)
			err := a.Validate()
			if tt.ok {
				checkSentinel(t, err, nil)
			} else {
				checkSentinel(t, err, ErrInvalid)
			}
		})
	}
	for _, k := range Kinds {
		a := valid()
		a.Action = k
		if k == KindCancel {
			a.Args.TaskID = "t1"
		}
		if err := a.Validate(); err != nil {
			t.Errorf("kind %s: %v", k, err)
		}
	}
}

func TestCanonicalBytes(t *testing.T) {
	a := Action{
		Action: KindInstall, Hosts: []string{"B-host", "a-host", "é"},
		Args:      Args{Packages: []string{"firefox(>=115)", "vlc"}, Force: true},
		Nonce:     strings.Repeat("ab", 32),
		IssuedAt:  time.Date(2026, 1, 2, 4, 4, 5, 120000000, time.FixedZone("CET", 3600)),
		ExpiresAt: time.Date(2026, 1, 2, 3, 9, 5, 0, time.UTC),
	}
	// The signed bytes must never change: a change breaks every action
	// signed by an older console.
	want := `{"action":"install","args":{"force":true,"packages":["firefox(>=115)","vlc"],"task_id":""},` +
		`"expires_at":"2026-01-02T03:09:05Z","hosts":["B-host","a-host","\u00e9"],"issued_at":"2026-01-02T03:04:05.12Z",` +
		`"nonce":"` + strings.Repeat("ab", 32) + `","type":"wapt-action/1"}`
	got, err := CanonicalBytes(a)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("CanonicalBytes =\n%s\nwant\n%s", got, want)
	}

	// Equivalent forms give the same bytes.
	b := a
	b.IssuedAt = a.IssuedAt.UTC()
	b.ExpiresAt = a.ExpiresAt.In(time.FixedZone("X", -7*3600))
	if got2, _ := CanonicalBytes(b); !bytes.Equal(got, got2) {
		t.Errorf("time zone changes the bytes:\n%s", got2)
	}
	c := Action{Action: KindUpdate, Hosts: []string{hostA}, Nonce: a.Nonce, IssuedAt: tNow, ExpiresAt: tNow.Add(time.Minute)}
	d := c
	d.Args.Packages = []string{}
	if x, y := must(CanonicalBytes(c)), must(CanonicalBytes(d)); !bytes.Equal(x, y) || !bytes.Contains(x, []byte(`"packages":[]`)) {
		t.Errorf("nil and empty packages differ:\n%s\n%s", x, y)
	}

	// Every field is covered.
	for name, mut := range map[string]func(*Action){
		"action":   func(a *Action) { a.Action = KindRemove },
		"hosts":    func(a *Action) { a.Hosts = a.Hosts[:2] },
		"order":    func(a *Action) { a.Hosts[0], a.Hosts[1] = a.Hosts[1], a.Hosts[0] },
		"packages": func(a *Action) { a.Args.Packages = []string{"firefox(>=115)"} },
		"force":    func(a *Action) { a.Args.Force = false },
		"task":     func(a *Action) { a.Args.TaskID = "x" },
		"nonce":    func(a *Action) { a.Nonce = strings.Repeat("ac", 32) },
		"issued":   func(a *Action) { a.IssuedAt = a.IssuedAt.Add(time.Nanosecond) },
		"expires":  func(a *Action) { a.ExpiresAt = a.ExpiresAt.Add(-time.Nanosecond) },
	} {
		m := a
		m.Hosts = append([]string(nil), a.Hosts...)
		mut(&m)
		if x := must(CanonicalBytes(m)); bytes.Equal(x, got) {
			t.Errorf("%s: not covered by the canonical bytes", name)
		}
	}

	if _, err := CanonicalBytes(Action{Hosts: []string{"\xff"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("invalid UTF-8: %v", err)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestSign(t *testing.T) {
	f := testFixture(t)
	a := newAction(t, KindInstall, Args{Packages: []string{"firefox"}})
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		name    string
		a       Action
		k       keyCert
		chain   int // certificates of chain: simple, then adminCA repeated
		wantErr bool
	}{
		{name: "ecdsa", a: a, k: f.simple, chain: 1},
		{name: "rsa with issuer", a: a, k: f.codeSigning, chain: 2},
		{name: "invalid action", a: Action{Action: KindInstall}, k: f.simple, chain: 1, wantErr: true},
		{name: "no chain", a: a, k: f.simple, chain: 0, wantErr: true},
		{name: "chain too long", a: a, k: f.simple, chain: MaxChain + 1, wantErr: true},
		{name: "key does not match", a: a, k: keyCert{key: f.otherAdmin.key}, chain: 1, wantErr: true},
		{name: "ed25519 key", a: a, k: keyCert{key: edKey}, chain: 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := tt.k
			if k.cert == nil {
				k.cert = f.simple.cert
			}
			var certChain []*x509.Certificate
			for i := range tt.chain {
				if i == 0 {
					certChain = append(certChain, k.cert)
				} else {
					certChain = append(certChain, f.adminCA.cert)
				}
			}
			s, err := Sign(tt.a, k.key, certChain)
			if tt.wantErr {
				if err == nil {
					t.Fatal("Sign succeeded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.verifier().Verify(t.Context(), s); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

func TestParse(t *testing.T) {
	f := testFixture(t)
	s := sign(t, newAction(t, KindInstall, Args{Packages: []string{"firefox(>=115)"}, Force: true}), f.codeSigning, f.codeSigning.chain(f.adminCA))
	good, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	replace := func(old, new string) []byte {
		t.Helper()
		if !bytes.Contains(good, []byte(old)) {
			t.Fatalf("%q not in %s", old, good)
		}
		return bytes.Replace(good, []byte(old), []byte(new), 1)
	}
	var generic map[string]any
	if err := json.Unmarshal(good, &generic); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		ok   bool
	}{
		{name: "good", data: good, ok: true},
		{name: "surrounding space", data: append(append([]byte(" \n"), good...), "\r\n\t "...), ok: true},
		{name: "empty", data: nil},
		{name: "null", data: []byte("null")},
		{name: "array", data: []byte("[]")},
		{name: "bad JSON", data: good[:len(good)-1]},
		{name: "not JSON", data: []byte("action=install")},
		{name: "trailing object", data: append(append([]byte{}, good...), "{}"...)},
		{name: "trailing garbage", data: append(append([]byte{}, good...), " x"...)},
		{name: "twice", data: append(append([]byte{}, good...), good...)},
		{name: "unknown top-level field", data: replace(`{"action":{`, `{"extra":1,"action":{`)},
		{name: "unknown action field", data: replace(`"hosts":`, `"run_as":"root","hosts":`)},
		{name: "unknown args field", data: replace(`"force":true`, `"force":true,"script":"rm"`)},
		{name: "wrong type", data: replace(`"force":true`, `"force":"yes"`)},
		{name: "no signature", data: replace(`"signature":"`+s.Signature+`"`, `"signature":""`)},
		{name: "no signer", data: replace(`"signer_chain":"`, `"signer_chain":"","x":"`)},
		{name: "invalid action", data: replace(`"nonce":"`+s.Action.Nonce, `"nonce":"`+strings.ToUpper(s.Action.Nonce))},
		{name: "oversize", data: append(append([]byte{}, good...), bytes.Repeat([]byte(" "), MaxSize)...)},
		{name: "huge signature", data: replace(`"signature":"`, `"signature":"`+strings.Repeat("A", maxSignatureLen))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.data)
			if !tt.ok {
				checkSentinel(t, err, ErrInvalid)
				return
			}
			checkSentinel(t, err, nil)
			if !bytes.Equal(must(CanonicalBytes(got.Action)), must(CanonicalBytes(s.Action))) ||
				got.Signer != s.Signer || got.Signature != s.Signature || !got.Action.IssuedAt.Equal(s.Action.IssuedAt) {
				t.Errorf("round trip:\n%+v\nwant\n%+v", got, s)
			}
			if _, err := f.verifier().Verify(t.Context(), got); err != nil {
				t.Errorf("Verify after round trip: %v", err)
			}
		})
	}
}

func TestMarshal(t *testing.T) {
	f := testFixture(t)
	s := sign(t, newAction(t, KindUpdate, Args{}), f.simple, f.simple.chain())
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// Empty args are omitted, hosts never are.
	if !bytes.Contains(b, []byte(`"args":{}`)) || !bytes.Contains(b, []byte(`"hosts":[`)) {
		t.Errorf("Marshal = %s", b)
	}
	big := s
	big.Signer = strings.Repeat("x", MaxSize)
	if _, err := big.Marshal(); !errors.Is(err, ErrInvalid) {
		t.Errorf("oversize Marshal: %v", err)
	}
}

func TestKinds(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Kinds {
		if !isKind(k) || seen[k] {
			t.Errorf("kind %q unknown or listed twice", k)
		}
		seen[k] = true
	}
	if len(Kinds) != 10 {
		t.Errorf("%d kinds, want 10", len(Kinds))
	}
}
