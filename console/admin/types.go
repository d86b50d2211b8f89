// Package admin is the Fyne-free core of waptconsole: the admin's
// connection to the server (a certificate with a key file or a PKCS#11
// token), hosts and their inventory, signed actions and their results,
// host and group package edits, the package editor's drafts (validation,
// setup.py dry run), package build + sign + upload, imports, certificates
// and the ACL. It reaches the server only through server/client; the UI
// (console/ui) holds no business logic and calls this package.
package admin

import (
	"context"
	"errors"
	"time"

	"github.com/wapt-go/wapt/shared/control"
)

// Sentinel errors, each wrapped with a human reason.
var (
	// ErrWrongPassword: the key file's password or the token PIN is wrong.
	ErrWrongPassword = errors.New("wrong password or PIN")
	// ErrUntrustedServer: the server's TLS certificate does not chain to
	// the configured server CA (or the system roots).
	ErrUntrustedServer = errors.New("server certificate not trusted")
	// ErrUnreachable: no answer from the server.
	ErrUnreachable = errors.New("server unreachable")
	// ErrNotAdmin: the server does not know this certificate (401).
	ErrNotAdmin = errors.New("certificate not registered as an admin on this server")
	// ErrNoRights: the admin lacks the right for this operation (403).
	ErrNoRights = errors.New("missing right")
	// ErrInvalid: bad input (a draft, a filter, a certificate request);
	// a *FieldErrors gives the reason per field.
	ErrInvalid = errors.New("invalid input")
)

// FieldErrors maps a field (control key, "setup.py", "files", ...) to what
// is wrong with it. It wraps ErrInvalid.
type FieldErrors map[string]string

func (f FieldErrors) Error() string {
	s := "invalid:"
	for _, k := range sortedKeys(f) {
		s += " " + k + ": " + f[k] + ";"
	}
	return s
}

// Unwrap returns ErrInvalid.
func (f FieldErrors) Unwrap() error { return ErrInvalid }

// Settings are what the console remembers per user (SettingsPath), never
// a password or a PIN.
type Settings struct {
	ServerURL string `json:"server_url"`
	// ServerCA is a PEM file of the CA the server's HTTPS certificate
	// chains to ("" = the system roots).
	ServerCA string `json:"server_ca,omitempty"`
	// CertPath is the admin certificate (PEM, chain allowed); KeyPath its
	// encrypted PKCS#8 key. Empty KeyPath with PKCS11Module set: the key
	// is on a token.
	CertPath string `json:"cert_path,omitempty"`
	KeyPath  string `json:"key_path,omitempty"`
	// PKCS11Module is the PKCS#11 library (/usr/lib/softhsm/libsofthsm2.so,
	// opensc-pkcs11.so, ...); TokenLabel selects the token and KeyLabel
	// the key (CKA_LABEL; "" = the key matching CertPath's public key).
	PKCS11Module string `json:"pkcs11_module,omitempty"`
	TokenLabel   string `json:"token_label,omitempty"`
	KeyLabel     string `json:"key_label,omitempty"`
	// RecentPackageDirs are package sources opened in the editor.
	RecentPackageDirs []string `json:"recent_package_dirs,omitempty"`
}

// Prompt asks the user for a secret (key password, token PIN); a nil
// answer with a nil error means "cancelled".
type Prompt func(ctx context.Context, prompt string) ([]byte, error)

// Dashboard sums up the fleet.
type Dashboard struct {
	Total int
	// ByStatus counts hosts per derived status (wire.States, "" = never
	// reported) and "UNREACHABLE" for hosts not seen for UnreachableAfter.
	ByStatus map[string]int
	// TopErrors are the packages most often in ERROR, most frequent first
	// (at most 10).
	TopErrors []ErrorCount
	At        time.Time
}

// UnreachableAfter is how long without a status report makes a host
// unreachable in the dashboard and the host grid.
const UnreachableAfter = 4 * time.Hour

// StatusUnreachable is the dashboard's extra status.
const StatusUnreachable = "UNREACHABLE"

// ErrorCount is one line of Dashboard.TopErrors.
type ErrorCount struct {
	Package string
	Hosts   int
}

// Draft is a package source being edited: a directory with WAPT/control,
// setup.py and the payload files.
type Draft struct {
	// Dir is the source directory.
	Dir string
	// Control holds the control fields being edited.
	Control *control.Control
	// SetupPy is the text of setup.py ("" = none: a config-only package).
	SetupPy string
}

// Preview is the dry run of a setup.py hook: what it would call.
type Preview struct {
	// Calls are the recorded side effects ("run(['msiexec', ...])",
	// "filecopyto(a, b)", ...), in order.
	Calls []string
	// Output is what the script printed.
	Output string
	// Err is the syntax or run error, with its line; nil when it ran.
	Err error
}

// CertSpec describes a certificate to generate in the console.
type CertSpec struct {
	CN string
	// Kind is "ca", "code-signing" or "simple" (admin roles, DESIGN §4).
	Kind     string
	KeyType  string // "rsa" (default) or "ecdsa"
	Bits     int    // RSA bits (default 3072) or ECDSA curve size
	Validity time.Duration
	Email    string
	// IssuerCertPath and IssuerKeyPath sign it (empty: self-signed, for a
	// CA only).
	IssuerCertPath, IssuerKeyPath string
	// IssuerPassword decrypts IssuerKeyPath when it is encrypted (empty:
	// Password is tried).
	IssuerPassword []byte
	// Password encrypts the new key (required; at least 8 bytes).
	Password []byte
	// OutDir receives CN.pem and CN.crt.
	OutDir string
}
