package inventory

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wapt-go/wapt/shared/signing"
	"github.com/wapt-go/wapt/shared/wire"
)

// RegisterOptions are the optional inputs of Register.
type RegisterOptions struct {
	// SignedBy is the certificate whose key signed the request, if it was
	// signed. A known, unrevoked host may register again only when SignedBy
	// is its current certificate or `by` is an admin.
	SignedBy *x509.Certificate
}

// SectionHash is the hash the server gives to a section it receives without
// one (at registration): the lowercase hex SHA-256 of its JSON bytes as sent.
func SectionHash(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// Register records the host of req with cert, the host certificate the
// caller's host CA issued for req.CSR (CN = req.UUID), and its first
// inventory sections. by is ByToken, ByHost or an admin name. A new uuid, or
// one that was unregistered, may be registered by anyone the caller
// authenticated; a known, registered uuid only by an admin or with a request
// signed by the host's current certificate (else ErrForbidden).
func (s *Service) Register(ctx context.Context, req wire.RegisterRequest, cert *x509.Certificate, by string, now time.Time, opt RegisterOptions) error {
	defer s.dropCerts() // a renewed certificate replaces the cached one
	f := map[string]string{}
	checkName(f, "uuid", req.UUID, true)
	checkName(f, "fqdn", req.FQDN, true)
	checkName(f, "hostname", req.Hostname, false)
	if strings.TrimSpace(by) == "" {
		f["by"] = "empty actor"
	}
	if cert == nil {
		f["certificate"] = "missing"
	} else if cert.Subject.CommonName != req.UUID {
		f["certificate"] = fmt.Sprintf("CN %q is not the host uuid", cert.Subject.CommonName)
	} else if cert.IsCA {
		f["certificate"] = "is a CA certificate"
	}
	secs, total := make([]SectionData, 0, len(req.Sections)), 0
	if len(req.Sections) > MaxSections {
		f["sections"] = fmt.Sprintf("more than %d sections", MaxSections)
	}
	for _, name := range sortedKeys(req.Sections) {
		data := req.Sections[name]
		total += len(data)
		if facts, ok := checkSection(f, name, data); ok {
			secs = append(secs, SectionData{Name: name, Hash: SectionHash(data), Data: data, Facts: facts})
		}
	}
	if total > MaxSectionTotal {
		f["sections"] = fmt.Sprintf("%d bytes in all, more than %d", total, MaxSectionTotal)
	}
	if err := invalid(f); err != nil {
		return fmt.Errorf("register %q: %w", req.UUID, err)
	}

	prev, err := s.st.HostAuth(ctx, req.UUID)
	var prevp *HostAuth
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return fmt.Errorf("register %q: %w", req.UUID, err)
	default:
		prevp = &prev
	}
	action := ActionRegister
	if prevp != nil && !prev.Revoked {
		action = ActionReregister
		admin := by != ByToken && by != ByHost
		self := opt.SignedBy != nil && signing.Fingerprint(opt.SignedBy) == prev.Fingerprint
		if !admin && !self {
			return fmt.Errorf("register %q: %w: the host is registered; re-registration must be signed by its current key or done by an admin", req.UUID, ErrForbidden)
		}
	}
	hostname := req.Hostname
	if hostname == "" {
		hostname, _, _ = strings.Cut(req.FQDN, ".")
	}
	osName, osVer := osFromSections(req.Sections)
	fp := signing.Fingerprint(cert)
	r := Registration{
		UUID: req.UUID, FQDN: req.FQDN, Hostname: hostname, OS: osName, OSVersion: osVer,
		Fingerprint: fp, CertDER: cert.Raw, CertNotAfter: cert.NotAfter,
		At: now, By: by, Sections: secs, Prev: prevp,
	}
	a := AuditEntry{At: now, Actor: by, Action: action, Target: req.UUID,
		Detail: fmt.Sprintf("fqdn=%s cert=%s sections=%d", req.FQDN, fp, len(secs))}
	if err := s.st.Register(ctx, r, a); err != nil {
		return fmt.Errorf("register %q: %w", req.UUID, err)
	}
	return nil
}

// HostByCertFingerprint returns the host whose current, unrevoked
// certificate has fingerprint fp (hex SHA-256 of the DER), for request
// signature checks. Unknown and revoked certificates give ErrNotFound.
func (s *Service) HostByCertFingerprint(ctx context.Context, fp string) (string, *x509.Certificate, error) {
	fp = strings.ToLower(strings.TrimSpace(fp))
	if fp == "" {
		return "", nil, fmt.Errorf("certificate %q: %w", fp, ErrNotFound)
	}
	now := time.Now()
	if c, ok := s.cachedHost(fp, now); ok {
		return c.uuid, c.cert, nil
	}
	h, err := s.st.HostByFingerprint(ctx, fp)
	if err != nil {
		return "", nil, fmt.Errorf("certificate %s: %w", fp, err)
	}
	cert, err := x509.ParseCertificate(h.CertDER)
	if err != nil {
		return "", nil, fmt.Errorf("certificate %s: stored certificate: %w", fp, err)
	}
	s.cacheHost(fp, cachedCert{uuid: h.UUID, cert: cert, until: now.Add(certCacheTTL)})
	return h.UUID, cert, nil
}

// Unregister revokes uuid's registration: its certificate no longer
// authenticates and its status posts are refused, while its data and
// history are kept. ErrNotFound when absent or already unregistered.
func (s *Service) Unregister(ctx context.Context, uuid, by string, now time.Time) error {
	defer s.dropCerts() // the revoked certificate must stop authenticating at once
	if strings.TrimSpace(by) == "" {
		return fmt.Errorf("unregister %q: %w", uuid, invalid(map[string]string{"by": "empty actor"}))
	}
	a := AuditEntry{At: now, Actor: by, Action: ActionUnregister, Target: uuid}
	if err := s.st.Revoke(ctx, uuid, now, a); err != nil {
		return fmt.Errorf("unregister %q: %w", uuid, err)
	}
	return nil
}

// checkName validates a short identifier-like field into f.
func checkName(f map[string]string, key, v string, required bool) bool {
	switch {
	case v == "":
		if required {
			f[key] = "empty"
			return false
		}
	case len(v) > MaxNameLen:
		f[key] = fmt.Sprintf("longer than %d bytes", MaxNameLen)
		return false
	case !utf8.ValidString(v):
		f[key] = "not valid UTF-8"
		return false
	case strings.TrimSpace(v) != v:
		f[key] = "leading or trailing spaces"
		return false
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		f[key] = "control character"
		return false
	}
	return true
}

// SectionLimit returns the largest accepted size of section name.
func SectionLimit(name string) int {
	if name == SectionSoftware {
		return MaxSoftwareSectionSize
	}
	return MaxSectionSize
}

// checkSection validates one section's name and data into f and derives
// its facts; ok is false when the section is refused.
func checkSection(f map[string]string, name string, data []byte) (facts *Facts, ok bool) {
	key := "sections." + name
	if !checkName(f, key, name, true) {
		return nil, false
	}
	switch {
	case len(data) > SectionLimit(name):
		f[key] = fmt.Sprintf("%d bytes, more than %d", len(data), SectionLimit(name))
	case len(data) == 0 || !json.Valid(data):
		f[key] = "not valid JSON"
	default:
		facts, err := DeriveFacts(name, data)
		if err != nil {
			f[key] = err.Error()
			return nil, false
		}
		return facts, true
	}
	return nil, false
}

// osFromSections reads the OS name and version from the "host" section, as
// gopsutil's host.InfoStat writes it ("platform"/"platformVersion", else
// "os") or with "os"/"os_version" keys. Missing keys give "".
func osFromSections[V ~[]byte](secs map[string]V) (name, ver string) {
	data, ok := secs["host"]
	if !ok {
		return "", ""
	}
	var h struct {
		OS              string `json:"os"`
		OSVersion       string `json:"os_version"`
		Platform        string `json:"platform"`
		PlatformVersion string `json:"platformVersion"`
	}
	if json.Unmarshal(data, &h) != nil {
		return "", ""
	}
	name, ver = h.OS, h.OSVersion
	if h.Platform != "" {
		name = h.Platform
	}
	if h.PlatformVersion != "" {
		ver = h.PlatformVersion
	}
	return clip(name), clip(ver)
}

func clip(s string) string {
	if len(s) > MaxNameLen || !utf8.ValidString(s) {
		return ""
	}
	return s
}
