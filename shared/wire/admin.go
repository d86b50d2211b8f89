package wire

import "time"

// Admin rights (ACL) that the server grants per admin certificate.
const (
	RightView             = "view"
	RightEditHostPackage  = "edit_host_package"
	RightEditGroupPackage = "edit_group_package"
	RightEditBasePackage  = "edit_base_package"
	RightTriggerAction    = "trigger_action"
	RightUnregisterHost   = "unregister_host"
	RightAdmin            = "admin"
)

// Rights lists every valid right.
var Rights = []string{
	RightView, RightEditHostPackage, RightEditGroupPackage, RightEditBasePackage,
	RightTriggerAction, RightUnregisterHost, RightAdmin,
}

// AdminRegisterRequest is the body of POST /api/v1/admins: it registers an
// admin certificate with its rights. The first admin is registered with
// BootstrapPassword; later ones by an admin holding RightAdmin.
type AdminRegisterRequest struct {
	// Certificate is the PEM admin certificate (first block used; it may be
	// followed by its chain).
	Certificate string `json:"certificate"`
	// Rights are the rights granted to the certificate (from Rights).
	Rights []string `json:"rights"`
	// BootstrapPassword is only for the first admin.
	BootstrapPassword string `json:"bootstrap_password,omitempty"`
}

// AdminInfo is one registered admin certificate (GET /api/v1/admins).
type AdminInfo struct {
	Name        string    `json:"name"`
	Fingerprint string    `json:"fingerprint"`
	Rights      []string  `json:"rights"`
	NotAfter    time.Time `json:"not_after"`
}

// AdminList is the answer of GET /api/v1/admins.
type AdminList struct {
	Admins []AdminInfo `json:"admins"`
}

// PackageInfo describes one package of the repository.
type PackageInfo struct {
	Filename     string `json:"filename"`
	Package      string `json:"package"`
	Version      string `json:"version"`
	Architecture string `json:"architecture,omitempty"`
	Section      string `json:"section,omitempty"`
	Maturity     string `json:"maturity,omitempty"`
	Locale       string `json:"locale,omitempty"`
	Description  string `json:"description,omitempty"`
	Depends      string `json:"depends,omitempty"`
	Conflicts    string `json:"conflicts,omitempty"`
	// Size is the size of the .wapt file in bytes.
	Size int64 `json:"size"`
	// SHA256 is the lowercase hex SHA-256 of the .wapt file.
	SHA256 string `json:"sha256,omitempty"`
	// Signer is the signer's common name; SignerFingerprint the hex
	// SHA-256 of its certificate.
	Signer            string    `json:"signer,omitempty"`
	SignerFingerprint string    `json:"signer_fingerprint,omitempty"`
	SignatureDate     time.Time `json:"signature_date,omitzero"`
}

// PackageList is the answer of GET /api/v1/packages.
type PackageList struct {
	Packages []PackageInfo `json:"packages"`
	// Total is the number of packages matching the filters, all pages.
	Total int `json:"total"`
}

// AdminRightsRequest is the body of PUT /api/v1/admins/{fingerprint}: the
// new rights of a registered admin certificate.
type AdminRightsRequest struct {
	Rights []string `json:"rights"`
}

// AuditEntry is one line of the server's audit log.
type AuditEntry struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target"`
	Detail string    `json:"detail,omitempty"`
}

// AuditLog is the answer of GET /api/v1/audit, newest first.
type AuditLog struct {
	Entries []AuditEntry `json:"entries"`
}
