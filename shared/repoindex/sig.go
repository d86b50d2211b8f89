package repoindex

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/signing"
)

// Packages.sig bounds.
const (
	maxSigSize  = 1 << 20
	maxChainLen = 8
)

// SigInfo is the signed content of Packages.sig.
type SigInfo struct {
	Repo    string    // repository name, e.g. "wapt" or the server's name
	Version int64     // increases with every index the repository publishes
	Issued  time.Time // RFC 3339 UTC, second precision
	Expires time.Time
	SHA256  string // hex sha256 of the Packages bytes
	Size    int64  // length of the Packages bytes
}

// sigFile is the JSON layout of Packages.sig. Pointers tell absent fields
// from zero values when reading.
type sigFile struct {
	Repo        *string  `json:"repo"`
	Version     *int64   `json:"version"`
	Issued      *string  `json:"issued"`
	Expires     *string  `json:"expires"`
	SHA256      *string  `json:"sha256"`
	Size        *int64   `json:"size"`
	SignerChain []string `json:"signer_chain"`
	Signature   string   `json:"signature"`
}

// signedContent returns the bytes the signature covers.
func signedContent(repo string, ver int64, issued, expires, sum string, size int64) ([]byte, error) {
	return signing.CanonicalJSON(map[string]any{
		"repo":    repo,
		"version": ver,
		"issued":  issued,
		"expires": expires,
		"sha256":  sum,
		"size":    size,
	})
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// SignIndex returns the Packages.sig bytes for index. info.SHA256 and
// info.Size are computed from index (when set, they must agree). Repo must
// be set, Version must not be negative and Expires must be after Issued.
// chain[0] is the certificate of signer; the rest of chain is written too so
// that agents can build the path to their anchor.
func SignIndex(index []byte, info SigInfo, signer crypto.Signer, chain []*x509.Certificate) ([]byte, error) {
	sum, size := sha256Hex(index), int64(len(index))
	switch {
	case signer == nil || len(chain) == 0 || chain[0] == nil:
		return nil, errors.New("sign index: signer and certificate required")
	case info.SHA256 != "" && info.SHA256 != sum, info.Size != 0 && info.Size != size:
		return nil, errors.New("sign index: SigInfo sha256/size do not match the index")
	case info.Repo == "":
		return nil, errors.New("sign index: repo name required")
	case info.Version < 0:
		return nil, fmt.Errorf("sign index: negative version %d", info.Version)
	case info.Issued.IsZero() || !info.Expires.After(info.Issued):
		return nil, errors.New("sign index: expires must be after issued")
	case len(chain) > maxChainLen:
		return nil, fmt.Errorf("sign index: chain of %d certificates, limit %d", len(chain), maxChainLen)
	case !certs.IsRepositorySigner(chain[0]):
		return nil, fmt.Errorf("sign index: %q is not a repository certificate (create one with create-keycert --repo)", chain[0].Subject.CommonName)
	}
	if pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(chain[0].PublicKey) {
		return nil, errors.New("sign index: key does not match the certificate")
	}
	issued, expires := formatTime(info.Issued), formatTime(info.Expires)
	content, err := signedContent(info.Repo, info.Version, issued, expires, sum, size)
	if err != nil {
		return nil, fmt.Errorf("sign index: %w", err)
	}
	sig, err := signing.Sign(signer, content)
	if err != nil {
		return nil, fmt.Errorf("sign index: %w", err)
	}
	f := sigFile{
		Repo: &info.Repo, Version: &info.Version, Issued: &issued, Expires: &expires,
		SHA256: &sum, Size: &size, Signature: base64.StdEncoding.EncodeToString(sig),
	}
	for _, c := range chain {
		f.SignerChain = append(f.SignerChain, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	out, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("sign index: %w", err)
	}
	return append(out, '\n'), nil
}

// VerifyIndex checks Packages.sig (sig, at most 1 MiB) against the Packages
// bytes (index), in this order: the signer chain reaches an anchor of t at
// now (any key usage), the signature covers the info fields, size and sha256
// equal those of index (mix-and-match), now is before Expires
// (ErrExpiredIndex: freeze), Version >= minVersion (ErrRollback), and the repo
// name equals wantRepo when wantRepo is not empty. Every error wraps
// ErrIndexSignature, ErrExpiredIndex or ErrRollback, plus the signing
// sentinel (ErrUntrusted, ErrExpired, ErrBadSignature) where one applies. The
// caller stores the returned Version as the next minVersion.
func VerifyIndex(sig, index []byte, t *signing.Trust, now time.Time, wantRepo string, minVersion int64) (SigInfo, error) {
	f, chain, err := parseSigFile(sig)
	if err != nil {
		return SigInfo{}, err
	}
	if t == nil {
		return SigInfo{}, fmt.Errorf("%w: no trusted certificates", ErrIndexSignature)
	}
	if err := t.VerifyChain(chain, now, false); err != nil {
		return SigInfo{}, fmt.Errorf("%w: %w", ErrIndexSignature, err)
	}
	// Only a repository key may sign an index: not an admin, host or TLS
	// certificate that happens to chain to the same anchor.
	if !certs.IsRepositorySigner(chain[0]) {
		return SigInfo{}, fmt.Errorf("%w: %w: %q is not a repository certificate (documentSigning EKU)", ErrIndexSignature, signing.ErrUntrusted, chain[0].Subject.CommonName)
	}
	content, err := signedContent(*f.Repo, *f.Version, *f.Issued, *f.Expires, *f.SHA256, *f.Size)
	if err != nil {
		return SigInfo{}, fmt.Errorf("%w: %w", ErrIndexSignature, err)
	}
	rawSig, err := base64.StdEncoding.DecodeString(f.Signature)
	if err != nil {
		return SigInfo{}, fmt.Errorf("%w: signature: %w", ErrIndexSignature, err)
	}
	if err := signing.VerifySignature(chain[0], content, rawSig); err != nil {
		return SigInfo{}, fmt.Errorf("%w: %w", ErrIndexSignature, err)
	}
	info := SigInfo{Repo: *f.Repo, Version: *f.Version, SHA256: *f.SHA256, Size: *f.Size}
	if info.Issued, err = time.Parse(time.RFC3339, *f.Issued); err != nil {
		return SigInfo{}, fmt.Errorf("%w: issued: %w", ErrIndexSignature, err)
	}
	if info.Expires, err = time.Parse(time.RFC3339, *f.Expires); err != nil {
		return SigInfo{}, fmt.Errorf("%w: expires: %w", ErrIndexSignature, err)
	}
	switch {
	case int64(len(index)) != info.Size:
		return SigInfo{}, fmt.Errorf("%w: index is %d bytes, signed size is %d", ErrIndexSignature, len(index), info.Size)
	case sha256Hex(index) != info.SHA256:
		return SigInfo{}, fmt.Errorf("%w: index sha256 differs from the signed one", ErrIndexSignature)
	case !now.Before(info.Expires):
		return SigInfo{}, fmt.Errorf("%w: expired at %s", ErrExpiredIndex, *f.Expires)
	case info.Version < minVersion:
		return SigInfo{}, fmt.Errorf("%w: version %d, already seen %d", ErrRollback, info.Version, minVersion)
	case wantRepo != "" && info.Repo != wantRepo:
		return SigInfo{}, fmt.Errorf("%w: index of repository %q, want %q", ErrIndexSignature, info.Repo, wantRepo)
	}
	return info, nil
}

// parseSigFile decodes Packages.sig strictly: bounded, known fields only,
// every field present, one JSON value, a chain of 1 to maxChainLen
// certificates.
func parseSigFile(sig []byte) (*sigFile, []*x509.Certificate, error) {
	if len(sig) > maxSigSize {
		return nil, nil, fmt.Errorf("%w: %d bytes, limit %d", ErrIndexSignature, len(sig), maxSigSize)
	}
	dec := json.NewDecoder(bytes.NewReader(sig))
	dec.DisallowUnknownFields()
	var f sigFile
	if err := dec.Decode(&f); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrIndexSignature, err)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return nil, nil, fmt.Errorf("%w: data after the JSON object", ErrIndexSignature)
	}
	if f.Repo == nil || f.Version == nil || f.Issued == nil || f.Expires == nil || f.SHA256 == nil || f.Size == nil || f.Signature == "" {
		return nil, nil, fmt.Errorf("%w: missing field", ErrIndexSignature)
	}
	if len(f.SignerChain) == 0 || len(f.SignerChain) > maxChainLen {
		return nil, nil, fmt.Errorf("%w: signer_chain has %d certificates", ErrIndexSignature, len(f.SignerChain))
	}
	chain := make([]*x509.Certificate, 0, len(f.SignerChain))
	for i, p := range f.SignerChain {
		certs, err := parseCertsPEM([]byte(p))
		if err != nil || len(certs) != 1 {
			return nil, nil, fmt.Errorf("%w: signer_chain[%d]: one PEM certificate expected", ErrIndexSignature, i)
		}
		chain = append(chain, certs[0])
	}
	return &f, chain, nil
}
