package admin

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/wapt-go/wapt/shared/atomicfile"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/wire"
)

// MinPasswordLen is the shortest password GenerateCert accepts for a new key.
const MinPasswordLen = 8

// certNameRe is a common name usable as the base name of the files.
var certNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._@-]*$`)

// certRoles maps CertSpec.Kind to the certificate role.
var certRoles = map[string]certs.Role{
	"ca":           certs.RoleCA,
	"code-signing": certs.RoleCodeSigning,
	"simple":       certs.RoleSimple,
}

// GenerateCert creates a key and a certificate per spec (shared/certs):
// OutDir/CN.pem, the key encrypted with spec.Password (PKCS#8, mode 0600),
// and OutDir/CN.crt, the certificate followed by its issuer's chain. Weak
// or inconsistent input is refused with *FieldErrors (keys cn, kind,
// key_type, bits, password, validity, issuer, out_dir): an empty CN, a
// password shorter than MinPasswordLen, RSA under 2048 bits, a self-signed
// certificate that is not a CA. Existing files are not replaced.
func GenerateCert(spec CertSpec) (keyPath, certPath string, err error) {
	bad := FieldErrors{}
	cn := strings.TrimSpace(spec.CN)
	switch {
	case cn == "":
		bad["cn"] = "required"
	case !certNameRe.MatchString(cn) || len(cn) > 64:
		bad["cn"] = "at most 64 letters, digits, spaces and . _ @ - (it names the files)"
	}
	role, ok := certRoles[spec.Kind]
	if !ok {
		bad["kind"] = fmt.Sprintf("unknown kind %q (ca, code-signing or simple)", spec.Kind)
	}
	keyType := strings.ToLower(spec.KeyType)
	switch keyType {
	case "", "rsa":
		keyType = "rsa"
		if spec.Bits != 0 && spec.Bits < certs.MinRSABits {
			bad["bits"] = fmt.Sprintf("an RSA key needs at least %d bits", certs.MinRSABits)
		} else if spec.Bits > 8192 {
			bad["bits"] = "an RSA key of at most 8192 bits"
		}
	case "ecdsa":
		if spec.Bits != 0 && spec.Bits != 256 && spec.Bits != 384 && spec.Bits != 521 {
			bad["bits"] = "an ECDSA key has 256, 384 or 521 bits"
		}
	default:
		bad["key_type"] = fmt.Sprintf("unknown key type %q (rsa or ecdsa)", spec.KeyType)
	}
	if len(spec.Password) < MinPasswordLen {
		bad["password"] = fmt.Sprintf("at least %d bytes", MinPasswordLen)
	}
	if spec.Validity < 0 {
		bad["validity"] = "must not be negative"
	}
	switch {
	case (spec.IssuerCertPath == "") != (spec.IssuerKeyPath == ""):
		bad["issuer"] = "the issuer certificate and key go together"
	case spec.IssuerCertPath == "" && ok && role != certs.RoleCA:
		bad["issuer"] = "only a CA may be self-signed: choose the CA that issues this certificate"
	}
	if spec.OutDir == "" {
		bad["out_dir"] = "required"
	}
	if err := bad.orNil(); err != nil {
		return "", "", err
	}
	keyPath, certPath = filepath.Join(spec.OutDir, cn+".pem"), filepath.Join(spec.OutDir, cn+".crt")
	for _, p := range []string{keyPath, certPath} {
		if _, err := os.Lstat(p); err == nil {
			return "", "", FieldErrors{"out_dir": fmt.Sprintf("%s already exists", p)}
		}
	}
	req := certs.Request{CN: cn, Role: role, KeyType: keyType, Bits: spec.Bits, Validity: spec.Validity, Email: spec.Email}
	var issuerChain []*x509.Certificate
	if spec.IssuerCertPath != "" {
		key, chain, err := loadIssuer(spec)
		if err != nil {
			return "", "", err
		}
		req.Issuer, req.IssuerKey, issuerChain = chain[0], key, chain
	}
	key, cert, err := certs.Generate(req)
	switch {
	case errors.Is(err, certs.ErrIssuerNotCA):
		return "", "", FieldErrors{"issuer": err.Error()}
	case errors.Is(err, certs.ErrBadRequest):
		return "", "", fmt.Errorf("%w: %w", ErrInvalid, err)
	case err != nil:
		return "", "", err
	}
	keyPEM, err := certs.EncodePrivateKeyPEM(key, spec.Password)
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(spec.OutDir, 0o755); err != nil {
		return "", "", err
	}
	if err := atomicfile.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		return "", "", err
	}
	if err := atomicfile.WriteFile(certPath, certs.EncodeCertsPEM(append([]*x509.Certificate{cert}, issuerChain...)...), 0o644); err != nil {
		os.Remove(keyPath)
		return "", "", err
	}
	return keyPath, certPath, nil
}

// loadIssuer reads the issuer's chain and key (encrypted with
// IssuerPassword, or Password).
func loadIssuer(spec CertSpec) (crypto.Signer, []*x509.Certificate, error) {
	chain, err := certs.LoadCerts(spec.IssuerCertPath)
	if err != nil {
		return nil, nil, fmt.Errorf("issuer: %w", err)
	}
	data, err := certs.ReadPEMFile(spec.IssuerKeyPath, certs.MaxKeyFileSize)
	if err != nil {
		return nil, nil, fmt.Errorf("issuer key: %w", err)
	}
	key, err := certs.ParsePrivateKeyPEM(data, nil)
	if errors.Is(err, certs.ErrPasswordRequired) {
		pw := spec.IssuerPassword
		if len(pw) == 0 {
			pw = spec.Password
		}
		key, err = certs.ParsePrivateKeyPEM(data, pw)
	}
	switch {
	case errors.Is(err, certs.ErrBadPassword):
		return nil, nil, fmt.Errorf("issuer key %s: %w", spec.IssuerKeyPath, ErrWrongPassword)
	case err != nil:
		return nil, nil, fmt.Errorf("issuer key %s: %w", spec.IssuerKeyPath, err)
	case !certs.KeyMatchesCert(key, chain[0]):
		return nil, nil, FieldErrors{"issuer": fmt.Sprintf("the key %s does not match the certificate %s", spec.IssuerKeyPath, spec.IssuerCertPath)}
	}
	return key, chain, nil
}

// Admins lists the admin certificates registered on the server and their
// rights (needs the admin right).
func (s *Session) Admins(ctx context.Context) (wire.AdminList, error) {
	l, err := s.client.ListAdmins(ctx)
	if err != nil {
		return l, fmt.Errorf("admins: %w", mapErr(err))
	}
	return l, nil
}

// RegisterAdmin registers the admin certificate certPEM (PEM, chain
// allowed; it must chain to an admin CA the server trusts) with rights
// (wire.Rights; needs the admin right).
func (s *Session) RegisterAdmin(ctx context.Context, certPEM []byte, rights []string) error {
	chain, err := certs.ParseCertsPEM(certPEM)
	if err != nil {
		return FieldErrors{"certificate": err.Error()}
	}
	req := wire.AdminRegisterRequest{Certificate: string(certs.EncodeCertsPEM(chain...)), Rights: rights}
	if err := req.Validate(); err != nil {
		return fmt.Errorf("register admin: %w", wireFields(err))
	}
	if err := s.client.RegisterAdmin(ctx, req); err != nil {
		return fmt.Errorf("register admin %q: %w", chain[0].Subject.CommonName, mapErr(err))
	}
	return nil
}

// SetAdminRights replaces the rights of the registered admin certificate
// of this fingerprint (hex SHA-256; needs the admin right).
func (s *Session) SetAdminRights(ctx context.Context, fingerprint string, rights []string) error {
	req := wire.AdminRightsRequest{Rights: rights}
	if err := req.Validate(); err != nil {
		return fmt.Errorf("admin rights: %w", wireFields(err))
	}
	if err := s.client.SetAdminRights(ctx, strings.ToLower(fingerprint), rights); err != nil {
		return fmt.Errorf("rights of admin %s: %w", fingerprint, mapErr(err))
	}
	return nil
}
