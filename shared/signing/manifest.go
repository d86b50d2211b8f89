package signing

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// ErrBadManifest is returned for a manifest that is not a list of
// [path, sha256 hex] pairs.
var ErrBadManifest = errors.New("bad manifest")

// ManifestEntry is one line of WAPT/manifest.sha256: a member path and the
// hex SHA-256 of its content.
type ManifestEntry struct{ Path, SHA256 string }

// MarshalManifest returns the manifest.sha256 bytes for entries: a JSON list
// of [path, lowercase hex sha256] sorted by path, in canonical JSON. Empty
// or duplicate paths and malformed hashes are refused.
func MarshalManifest(entries []ManifestEntry) ([]byte, error) {
	sorted := slices.Clone(entries)
	slices.SortFunc(sorted, func(a, b ManifestEntry) int { return strings.Compare(a.Path, b.Path) })
	list := make([][2]string, len(sorted))
	for i, e := range sorted {
		if e.Path == "" {
			return nil, fmt.Errorf("%w: empty path", ErrBadManifest)
		}
		if i > 0 && e.Path == sorted[i-1].Path {
			return nil, fmt.Errorf("%w: duplicate path %q", ErrBadManifest, e.Path)
		}
		if !isHex64(e.SHA256) {
			return nil, fmt.Errorf("%w: %q: bad sha256 %q", ErrBadManifest, e.Path, e.SHA256)
		}
		list[i] = [2]string{e.Path, strings.ToLower(e.SHA256)}
	}
	return CanonicalJSON(list)
}

// ParseManifest parses manifest.sha256 strictly: valid UTF-8 JSON holding
// one list of two-string lists, each a non-empty path and a 64-digit hex
// SHA-256 (either case; returned in lowercase), no duplicate path. Any JSON
// spacing is accepted (WAPT writes json.dumps with ", " separators). The
// entries are returned in file order.
func ParseManifest(data []byte) ([]ManifestEntry, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: invalid UTF-8", ErrBadManifest)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadManifest, err)
	}
	if raw == nil {
		return nil, fmt.Errorf("%w: not a list", ErrBadManifest)
	}
	out := make([]ManifestEntry, 0, len(raw))
	seen := make(map[string]bool, len(raw))
	for i, r := range raw {
		var pair []*string
		if err := json.Unmarshal(r, &pair); err != nil || len(pair) != 2 || pair[0] == nil || pair[1] == nil {
			return nil, fmt.Errorf("%w: entry %d is not a [path, sha256] pair: %s", ErrBadManifest, i, truncate(r))
		}
		path, sum := *pair[0], *pair[1]
		if path == "" {
			return nil, fmt.Errorf("%w: entry %d: empty path", ErrBadManifest, i)
		}
		if !isHex64(sum) {
			return nil, fmt.Errorf("%w: entry %d (%q): bad sha256 %q", ErrBadManifest, i, path, sum)
		}
		if seen[path] {
			return nil, fmt.Errorf("%w: entry %d: duplicate path %q", ErrBadManifest, i, path)
		}
		seen[path] = true
		out = append(out, ManifestEntry{Path: path, SHA256: strings.ToLower(sum)})
	}
	return out, nil
}

// SignManifest returns the signature.sha256 file for the manifest bytes:
// standard base64, without newlines, of Sign(signer, manifest).
func SignManifest(signer crypto.Signer, manifest []byte) ([]byte, error) {
	sig, err := Sign(signer, manifest)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	out := make([]byte, base64.StdEncoding.EncodedLen(len(sig)))
	base64.StdEncoding.Encode(out, sig)
	return out, nil
}

// VerifyManifest checks the signature.sha256 file sigFile (base64; spaces
// and line breaks ignored, as WAPT wraps it) against the manifest bytes with
// cert's public key. An empty sigFile is ErrUnsigned.
func VerifyManifest(cert *x509.Certificate, manifest, sigFile []byte) error {
	sig, err := decodeBase64(sigFile)
	if err != nil {
		return fmt.Errorf("manifest signature: %w", err)
	}
	if err := VerifySignature(cert, manifest, sig); err != nil {
		return fmt.Errorf("manifest signature: %w", err)
	}
	return nil
}

// decodeBase64 decodes standard base64 ignoring ASCII white space.
func decodeBase64(s []byte) ([]byte, error) {
	clean := bytes.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n', '\v', '\f':
			return -1
		}
		return r
	}, s)
	if len(clean) == 0 {
		return nil, ErrUnsigned
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(string(clean))
	if err != nil {
		return nil, fmt.Errorf("%w: base64: %v", ErrBadSignature, err)
	}
	return sig, nil
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func truncate(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}
