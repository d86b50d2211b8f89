// Package action is the envelope of the remote actions an admin sends to
// agents through the server (DESIGN §5): an Action names what to do, for
// which hosts, with a random nonce and a validity window of at most
// MaxLifetime; the admin signs its canonical bytes with an admin key, and
// the server only relays the Signed form, never signs it.
//
// An agent runs an action only after Verifier.Verify: the signature, the
// signer's chain to the agent's admin anchors, the signer's role, the host
// list, the time window and, last, the nonce against a persistent replay
// cache. Every refusal wraps exactly one of the sentinel errors of this
// package.
package action

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/signing"
	"github.com/wapt-go/wapt/shared/version"
)

// Kinds of action.
const (
	KindUpdate       = "update"
	KindUpgrade      = "upgrade"
	KindInstall      = "install"
	KindRemove       = "remove"
	KindForget       = "forget"
	KindAudit        = "audit"
	KindInventory    = "inventory"
	KindSessionSetup = "session-setup"
	KindCancel       = "cancel"
	KindReboot       = "reboot"
)

// Kinds lists every kind of action. Validate does not read it: changing it
// changes nothing.
var Kinds = []string{
	KindUpdate, KindUpgrade, KindInstall, KindRemove, KindForget,
	KindAudit, KindInventory, KindSessionSetup, KindCancel, KindReboot,
}

// Limits.
const (
	// MaxLifetime bounds ExpiresAt - IssuedAt.
	MaxLifetime = 10 * time.Minute
	// DefaultLifetime is the lifetime New gives for a zero lifetime.
	DefaultLifetime = 5 * time.Minute
	// DefaultSkew is the clock skew Verify accepts before IssuedAt when
	// Verifier.Skew is not set.
	DefaultSkew = 2 * time.Minute
	// MaxSize bounds a serialized Signed action.
	MaxSize = 1 << 20
	// MaxHosts bounds the number of hosts of one action.
	MaxHosts = 100000
	// MaxChain bounds the number of certificates of the signer chain.
	MaxChain = 8
)

const (
	nonceBytes      = 32
	maxHostLen      = 255
	maxTaskIDLen    = 255
	maxPackages     = 10000
	maxSignatureLen = 4096 // base64; an RSA-8192 signature takes 1368

	// canonicalType separates the bytes signed for an action from anything
	// else an admin key signs (control files, manifests).
	canonicalType = "wapt-action/1"
)

// Sentinel errors. Every refusal by Validate, Parse or Verify wraps exactly
// one of them, with a human reason.
var (
	// ErrInvalid is returned for a malformed action or envelope.
	ErrInvalid = errors.New("invalid action")
	// ErrBadSignature is returned when the signature is missing or does not
	// verify with the signer's certificate.
	ErrBadSignature = errors.New("bad action signature")
	// ErrUntrusted is returned when the signer does not chain to a trust
	// anchor (or a certificate of its chain is not valid now).
	ErrUntrusted = errors.New("action signer not trusted")
	// ErrRole is returned when the signer's certificate may not sign this
	// action: not an admin certificate, or a simple one signing a reboot.
	ErrRole = errors.New("signer's role does not allow the action")
	// ErrNotForHost is returned when this host is not in the action's hosts.
	ErrNotForHost = errors.New("action not addressed to this host")
	// ErrExpired is returned when now is outside [IssuedAt - skew, ExpiresAt].
	ErrExpired = errors.New("action expired or not yet valid")
	// ErrReplayed is returned when the action's nonce was already seen.
	ErrReplayed = errors.New("action replayed")
)

// Args are the arguments of an action; each kind reads the ones it needs.
type Args struct {
	// Packages are package requests ("firefox", "firefox(>=115)"), required
	// for install, remove and forget.
	Packages []string `json:"packages,omitempty"`
	Force    bool     `json:"force,omitempty"`
	// TaskID is what cancel cancels: the nonce of an earlier action.
	TaskID string `json:"task_id,omitempty"`
}

// Action is what an admin signs.
type Action struct {
	Action    string    `json:"action"`
	Hosts     []string  `json:"hosts"`
	Args      Args      `json:"args"`
	Nonce     string    `json:"nonce"` // 32 random bytes, lowercase hex (64 chars)
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Signed is the wire form of an action: the action, the signer chain and
// the signature over CanonicalBytes(Action).
type Signed struct {
	Action    Action `json:"action"`
	Signer    string `json:"signer_chain"` // PEM certificates, signer first
	Signature string `json:"signature"`    // base64 (standard encoding)
}

// New returns a valid action of kind for hosts, issued at now and expiring
// lifetime later (DefaultLifetime when 0; more than MaxLifetime or negative
// is an error), with a random nonce.
func New(kind string, hosts []string, args Args, now time.Time, lifetime time.Duration) (Action, error) {
	if lifetime == 0 {
		lifetime = DefaultLifetime
	}
	if lifetime < 0 || lifetime > MaxLifetime {
		return Action{}, fmt.Errorf("%w: lifetime %v not in (0, %v]", ErrInvalid, lifetime, MaxLifetime)
	}
	b := make([]byte, nonceBytes)
	if _, err := rand.Read(b); err != nil {
		return Action{}, fmt.Errorf("action: nonce: %w", err)
	}
	now = now.Round(0).UTC() // no monotonic reading: JSON does not keep it
	a := Action{
		Action:    kind,
		Hosts:     slices.Clone(hosts),
		Args:      Args{Packages: slices.Clone(args.Packages), Force: args.Force, TaskID: args.TaskID},
		Nonce:     hex.EncodeToString(b),
		IssuedAt:  now,
		ExpiresAt: now.Add(lifetime),
	}
	if err := a.Validate(); err != nil {
		return Action{}, err
	}
	return a, nil
}

// Validate checks a: a known kind; 1 to MaxHosts hosts, each a name of at
// most 255 bytes of valid UTF-8 without control characters or surrounding
// spaces, no two equal ignoring case; valid package requests (at least one
// for install, remove and forget); a TaskID for cancel; a nonce of 64
// lowercase hex digits; non-zero times with ExpiresAt - IssuedAt in
// (0, MaxLifetime]. Errors wrap ErrInvalid.
func (a Action) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
	}
	if !isKind(a.Action) {
		return bad("unknown kind %q", a.Action)
	}
	if len(a.Hosts) == 0 {
		return bad("no hosts")
	}
	if len(a.Hosts) > MaxHosts {
		return bad("%d hosts, at most %d", len(a.Hosts), MaxHosts)
	}
	seen := make(map[string]struct{}, len(a.Hosts))
	for i, h := range a.Hosts {
		if err := checkName(h, maxHostLen); err != nil {
			return bad("host #%d: %v", i+1, err)
		}
		k := foldKey(h)
		if _, dup := seen[k]; dup {
			return bad("host %q listed twice", h)
		}
		seen[k] = struct{}{}
	}
	if len(a.Args.Packages) > maxPackages {
		return bad("%d packages, at most %d", len(a.Args.Packages), maxPackages)
	}
	switch a.Action {
	case KindInstall, KindRemove, KindForget:
		if len(a.Args.Packages) == 0 {
			return bad("%s needs packages", a.Action)
		}
	}
	for _, p := range a.Args.Packages {
		if !utf8.ValidString(p) {
			return bad("package %q: invalid UTF-8", p)
		}
		if _, err := version.ParseRequest(p); err != nil {
			return bad("package: %v", err)
		}
	}
	if a.Action == KindCancel && a.Args.TaskID == "" {
		return bad("cancel needs a task_id")
	}
	if a.Args.TaskID != "" {
		if err := checkName(a.Args.TaskID, maxTaskIDLen); err != nil {
			return bad("task_id: %v", err)
		}
	}
	if !validNonce(a.Nonce) {
		return bad("nonce %.80q is not %d lowercase hex digits", a.Nonce, 2*nonceBytes)
	}
	if a.IssuedAt.IsZero() || a.ExpiresAt.IsZero() {
		return bad("issued_at and expires_at are required")
	}
	for _, t := range []time.Time{a.IssuedAt, a.ExpiresAt} {
		if y := t.UTC().Year(); y < 1 || y > 9999 {
			return bad("time %v out of range", t)
		}
	}
	if life := a.ExpiresAt.Sub(a.IssuedAt); life <= 0 || life > MaxLifetime {
		return bad("lifetime %v not in (0, %v]", life, MaxLifetime)
	}
	return nil
}

func isKind(k string) bool {
	switch k {
	case KindUpdate, KindUpgrade, KindInstall, KindRemove, KindForget,
		KindAudit, KindInventory, KindSessionSetup, KindCancel, KindReboot:
		return true
	}
	return false
}

// checkName checks a host name or task id.
func checkName(s string, maxLen int) error {
	switch {
	case s == "":
		return errors.New("empty")
	case len(s) > maxLen:
		return fmt.Errorf("%.40q...: longer than %d bytes", s, maxLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("%q: invalid UTF-8", s)
	case strings.ContainsFunc(s, unicode.IsControl):
		return fmt.Errorf("%q: control character", s)
	case strings.TrimSpace(s) != s:
		return fmt.Errorf("%q: leading or trailing space", s)
	}
	return nil
}

// foldKey maps s to a key equal for two strings exactly when
// strings.EqualFold holds: each rune becomes the smallest of its case
// folding orbit.
func foldKey(s string) string {
	ascii := true
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToUpper(s) // the smallest of {c, C, and non-ASCII folds}
	}
	var b strings.Builder
	for _, r := range s {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		b.WriteRune(m)
	}
	return b.String()
}

func validNonce(s string) bool {
	if len(s) != 2*nonceBytes {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// CanonicalBytes returns the bytes that are signed for a:
// signing.CanonicalJSON (sorted keys, no spaces, ASCII only) of
//
//	{"action", "args": {"force", "packages", "task_id"}, "expires_at",
//	 "hosts", "issued_at", "nonce", "type": "wapt-action/1"}
//
// with every key present (absent lists as []), hosts and packages in their
// order, and times as RFC 3339 in UTC with the shortest exact fraction
// (time.RFC3339Nano). The "type" member keeps these bytes apart from
// anything else an admin key signs. a is not validated.
func CanonicalBytes(a Action) ([]byte, error) {
	hosts := a.Hosts
	if hosts == nil {
		hosts = []string{}
	}
	pkgs := a.Args.Packages
	if pkgs == nil {
		pkgs = []string{}
	}
	b, err := signing.CanonicalJSON(map[string]any{
		"type":   canonicalType,
		"action": a.Action,
		"hosts":  hosts,
		"args": map[string]any{
			"packages": pkgs,
			"force":    a.Args.Force,
			"task_id":  a.Args.TaskID,
		},
		"nonce":      a.Nonce,
		"issued_at":  a.IssuedAt.UTC().Format(time.RFC3339Nano),
		"expires_at": a.ExpiresAt.UTC().Format(time.RFC3339Nano),
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return b, nil
}

// Sign validates a and signs it with signer, whose certificate is chain[0]
// (chain[1:] are its issuers, sent along so that the agent can build the
// path to its anchors; at most MaxChain certificates). The signature is
// signing.Sign over CanonicalBytes(a).
func Sign(a Action, signer crypto.Signer, chain []*x509.Certificate) (Signed, error) {
	if err := a.Validate(); err != nil {
		return Signed{}, err
	}
	if len(chain) == 0 || len(chain) > MaxChain || slices.Contains(chain, nil) {
		return Signed{}, fmt.Errorf("action: sign: chain of %d certificates, want 1 to %d", len(chain), MaxChain)
	}
	if !certs.KeyMatchesCert(signer, chain[0]) {
		return Signed{}, fmt.Errorf("action: sign: key does not match the certificate %q", chain[0].Subject.CommonName)
	}
	data, err := CanonicalBytes(a)
	if err != nil {
		return Signed{}, err
	}
	sig, err := signing.Sign(signer, data)
	if err != nil {
		return Signed{}, fmt.Errorf("action: %w", err)
	}
	return Signed{
		Action:    a,
		Signer:    string(certs.EncodeCertsPEM(chain...)),
		Signature: base64.StdEncoding.EncodeToString(sig),
	}, nil
}

// Parse decodes a Signed action: at most MaxSize bytes of one JSON object
// without unknown fields or trailing data, carrying a signer chain, a
// signature and a valid action. It does not verify the signature (see
// Verifier). Errors wrap ErrInvalid.
func Parse(data []byte) (Signed, error) {
	if len(data) > MaxSize {
		return Signed{}, fmt.Errorf("%w: %d bytes, at most %d", ErrInvalid, len(data), MaxSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Signed
	if err := dec.Decode(&s); err != nil {
		return Signed{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Signed{}, fmt.Errorf("%w: data after the JSON object", ErrInvalid)
	}
	if s.Signer == "" || s.Signature == "" {
		return Signed{}, fmt.Errorf("%w: no signer_chain or signature", ErrInvalid)
	}
	if len(s.Signature) > maxSignatureLen {
		return Signed{}, fmt.Errorf("%w: signature of %d bytes, at most %d", ErrInvalid, len(s.Signature), maxSignatureLen)
	}
	if err := s.Action.Validate(); err != nil {
		return Signed{}, err
	}
	return s, nil
}

// Marshal encodes s as JSON, refusing output larger than MaxSize (which
// Parse would refuse).
func (s Signed) Marshal() ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrInvalid, len(b), MaxSize)
	}
	return b, nil
}
