package signing

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/control"
)

// SignatureDateLayout is the layout of signature_date: Python's
// datetime.isoformat() of a UTC time, with microseconds.
const SignatureDateLayout = "2006-01-02T15:04:05.000000"

// mustBeSigned are the attributes a verified control must have covered by
// its signature: WAPT has signed them since signed_attributes exists.
var mustBeSigned = []string{"package", "version", "architecture", "section", "priority", "depends", "conflicts", "signed_attributes"}

// DefaultSignedAttributes returns the attributes SignControl signs: WAPT's
// default list (every control.StandardAttributes entry except "signature",
// in that order), then every other key present in c, in c's order, except
// "signature" and the control.IndexAttributes.
func DefaultSignedAttributes(c *control.Control) []string {
	out := make([]string, 0, len(control.StandardAttributes)+8)
	for _, k := range control.StandardAttributes {
		if k != "signature" {
			out = append(out, k)
		}
	}
	for _, k := range c.Keys() {
		if k == "signature" || slices.Contains(control.IndexAttributes, k) || slices.Contains(out, k) {
			continue
		}
		out = append(out, k)
	}
	return out
}

// signedAttributeList splits the signed_attributes CSV like WAPT's
// ensure_list: items trimmed, empty items dropped.
func signedAttributeList(csv string) []string {
	var out []string
	for _, a := range strings.Split(csv, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

var pyIntRe = regexp.MustCompile(`^[+-]?[0-9]+(_[0-9]+)*$`)

// pyInt returns s as Python's int(s) would print it, for the ASCII forms
// int() accepts (sign, leading zeros, "_" between digits).
func pyInt(s string) (json.Number, bool) {
	s = strings.TrimSpace(s)
	if !pyIntRe.MatchString(s) {
		return "", false
	}
	n, ok := new(big.Int).SetString(strings.ReplaceAll(s, "_", ""), 10)
	if !ok {
		return "", false
	}
	return json.Number(n.String()), true
}

// SignedControlContent returns the bytes a control signature covers:
// CanonicalJSON of {attr: value} over the attributes listed in
// c.Get("signed_attributes"), as WAPT's PackageEntry._signed_content:
//   - a present attribute gives its string value, except "installed_size"
//     and "size", which WAPT reads as integers when they parse as one;
//   - an absent one gives "" when it is a required or optional WAPT
//     attribute (WAPT initialises those to ""), else null (the signature
//     attributes and unknown ones, which WAPT initialises to None);
//   - names are case-sensitive, as Python attribute names: a name that is
//     not lowercase never matches a control key and gives null.
//
// An empty signed_attributes gives ErrUnsigned.
func SignedControlContent(c *control.Control) ([]byte, error) {
	attrs := signedAttributeList(c.Get("signed_attributes"))
	if len(attrs) == 0 {
		return nil, fmt.Errorf("%w: no signed_attributes", ErrUnsigned)
	}
	m := make(map[string]any, len(attrs))
	for _, a := range attrs {
		switch {
		case a == strings.ToLower(a) && c.Has(a):
			v := c.Get(a)
			if a == "installed_size" || a == "size" {
				if n, ok := pyInt(v); ok {
					m[a] = n
					continue
				}
			}
			m[a] = v
		case slices.Contains(control.RequiredAttributes, a) || slices.Contains(control.OptionalAttributes, a):
			m[a] = ""
		default:
			m[a] = nil
		}
	}
	b, err := CanonicalJSON(m)
	if err != nil {
		return nil, fmt.Errorf("signed control content: %w", err)
	}
	return b, nil
}

// SignControl signs c in place with signer, whose certificate is cert: it
// sets signer (cert's CN), signer_fingerprint, signature_date (now in UTC,
// SignatureDateLayout), a new random package_uuid (UUID v4 from rnd; nil →
// crypto/rand), signed_attributes (DefaultSignedAttributes as CSV) and
// signature (base64 without newlines of Sign over SignedControlContent).
// On error c is left unchanged.
//
// SignControl does not know whether the package has a setup.py: callers
// signing one must first check IsCodeSigning(cert) (ErrNotCodeSigning).
func SignControl(c *control.Control, signer crypto.Signer, cert *x509.Certificate, now time.Time, rnd io.Reader) error {
	if c == nil || cert == nil || signer == nil {
		return fmt.Errorf("sign control: nil control, signer or certificate")
	}
	if !certs.KeyMatchesCert(signer, cert) {
		return fmt.Errorf("sign control %s: key does not match certificate %q", c.Package(), cert.Subject.CommonName)
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	uuid, err := newUUID4(rnd)
	if err != nil {
		return fmt.Errorf("sign control %s: package_uuid: %w", c.Package(), err)
	}
	w := c.Clone()
	w.Set("package_uuid", uuid)
	w.Set("signature_date", now.UTC().Format(SignatureDateLayout))
	w.Set("signer", cert.Subject.CommonName)
	w.Set("signer_fingerprint", Fingerprint(cert))
	w.Set("signed_attributes", strings.Join(DefaultSignedAttributes(w), ","))
	content, err := SignedControlContent(w)
	if err != nil {
		return fmt.Errorf("sign control %s: %w", c.Package(), err)
	}
	sig, err := Sign(signer, content)
	if err != nil {
		return fmt.Errorf("sign control %s: %w", c.Package(), err)
	}
	for _, k := range []string{"package_uuid", "signature_date", "signer", "signer_fingerprint", "signed_attributes"} {
		c.Set(k, w.Get(k))
	}
	c.Set("signature", base64.StdEncoding.EncodeToString(sig))
	return nil
}

// newUUID4 returns a random (version 4, RFC 4122 variant) UUID in lowercase
// text form, like Python's str(uuid.uuid4()).
func newUUID4(rnd io.Reader) (string, error) {
	var u [16]byte
	if _, err := io.ReadFull(rnd, u[:]); err != nil {
		return "", err
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], nil
}

// VerifyControl checks c's signature and returns the signer's certificate.
// The signer is the certificate of chain (else of t's anchors) whose
// Fingerprint is c's signer_fingerprint (ErrUntrusted when none). The
// signature must verify over SignedControlContent (ErrUnsigned when c has
// no signature or no signed_attributes, ErrBadSignature otherwise), the
// signed attributes must include package, version, architecture, section,
// priority, depends, conflicts and signed_attributes (ErrBadSignature), and
// t.VerifyChain must accept the chain starting at the signer (the other
// certificates of chain as intermediates).
//
// Only the signed attributes are authenticated: others present in c (such
// as the index attributes) are not.
func VerifyControl(c *control.Control, chain []*x509.Certificate, t *Trust, now time.Time, requireCodeSigning bool) (*x509.Certificate, error) {
	name := c.Package()
	if strings.TrimSpace(c.Get("signature")) == "" {
		return nil, fmt.Errorf("control %s: %w", name, ErrUnsigned)
	}
	fp := strings.ToLower(strings.TrimSpace(c.Get("signer_fingerprint")))
	var signer *x509.Certificate
	for _, cand := range slices.Concat(chain, t.Anchors()) {
		if cand != nil && Fingerprint(cand) == fp {
			signer = cand
			break
		}
	}
	if signer == nil {
		return nil, fmt.Errorf("control %s: %w: no certificate with fingerprint %q (signer %q)", name, ErrUntrusted, fp, c.Get("signer"))
	}
	content, err := SignedControlContent(c)
	if err != nil {
		return nil, fmt.Errorf("control %s: %w", name, err)
	}
	signed := signedAttributeList(c.Get("signed_attributes"))
	for _, a := range mustBeSigned {
		if !slices.Contains(signed, a) {
			return nil, fmt.Errorf("control %s: %w: %q is not among signed_attributes", name, ErrBadSignature, a)
		}
	}
	sig, err := decodeBase64([]byte(c.Get("signature")))
	if err != nil {
		return nil, fmt.Errorf("control %s: %w", name, err)
	}
	if err := VerifySignature(signer, content, sig); err != nil {
		return nil, fmt.Errorf("control %s: signer %q: %w", name, signer.Subject.CommonName, err)
	}
	ordered := []*x509.Certificate{signer}
	for _, cc := range chain {
		if cc != nil && !cc.Equal(signer) {
			ordered = append(ordered, cc)
		}
	}
	if err := t.VerifyChain(ordered, now, requireCodeSigning); err != nil {
		return nil, fmt.Errorf("control %s: %w", name, err)
	}
	return signer, nil
}
