package wire

import (
	"encoding/json"
	"time"
)

// Host and package states, as derived per package and per host (a host
// takes the worst state of its packages: ERROR, then NEED-REMOVE,
// NEED-INSTALL, NEED-UPGRADE, then OK).
const (
	StateOK          = "OK"
	StateNeedInstall = "NEED-INSTALL"
	StateNeedUpgrade = "NEED-UPGRADE"
	StateNeedRemove  = "NEED-REMOVE"
	StateError       = "ERROR"
)

// States lists the valid values of StatusReport.HostStatus,
// PackageState.State and HostSummary.Status.
var States = []string{StateOK, StateNeedInstall, StateNeedUpgrade, StateNeedRemove, StateError}

// RegisterRequest is the body of POST /api/v1/hosts/register: the agent
// asks for a host certificate and sends its first inventory. It is
// authenticated by Token (an enrollment token) or by admin credentials;
// re-registering a known host must be signed by its current key.
type RegisterRequest struct {
	// UUID is the host identifier (WAPT UUID or FQDN-like name); it becomes
	// the CN of the host certificate.
	UUID string `json:"uuid"`
	// FQDN is the fully qualified host name.
	FQDN string `json:"fqdn"`
	// Hostname is the short computer name (optional).
	Hostname string `json:"hostname,omitempty"`
	// CSR is the PEM "CERTIFICATE REQUEST" of the host key.
	CSR string `json:"csr"`
	// Token is the enrollment token; empty when an admin registers the host.
	Token string `json:"token,omitempty"`
	// Sections are the first inventory sections, by name ("host", "dmi", ...).
	Sections map[string]json.RawMessage `json:"sections,omitempty"`
}

// HeaderEnrollmentToken carries the enrollment token of an unsigned
// registration, so that the server checks it before reading the body (it
// must equal RegisterRequest.Token).
const HeaderEnrollmentToken = "X-Wapt-Enrollment-Token"

// RegisterResponse answers a RegisterRequest.
type RegisterResponse struct {
	// Certificate is the PEM host certificate (CA:FALSE, clientAuth, CN = UUID).
	Certificate string `json:"certificate"`
	// CA is the PEM certificate of the host CA that issued it.
	CA string `json:"ca"`
}

// StatusReport is the body of POST /api/v1/hosts/{uuid}/status, signed
// with the host key (package reqsign).
type StatusReport struct {
	// UUID must match the {uuid} of the route and the CN of the signer.
	UUID string `json:"uuid"`
	// Time is when the agent built the report.
	Time time.Time `json:"time"`
	// HostStatus is the agent's own view of the host state (one of
	// States, or empty); the server derives its own from Packages.
	HostStatus string `json:"host_status,omitempty"`
	// Packages are the installed and pending packages.
	Packages []PackageState `json:"packages"`
	// Problems are host-level problems (failed update, unreachable
	// repository, ...), as human-readable lines.
	Problems []string `json:"problems,omitempty"`
	// LastUpdate is the result of the last index update, if any.
	LastUpdate *RunSummary `json:"last_update,omitempty"`
	// LastUpgrade is the result of the last upgrade run, if any.
	LastUpgrade *RunSummary `json:"last_upgrade,omitempty"`
	// Sections holds only the inventory sections whose hash changed since
	// the last acknowledged report.
	Sections map[string]Section `json:"sections,omitempty"`
	// SectionHashes gives the current hash of every section the host has,
	// changed or not; a section missing here was removed.
	SectionHashes map[string]string `json:"section_hashes,omitempty"`
	// Unit is the host's organizational unit DN
	// ("CN=pc1,OU=room1,DC=example,DC=lan"), when it has one.
	Unit string `json:"unit,omitempty"`
}

// PackageState is one package of a StatusReport or a HostDetail.
type PackageState struct {
	// Package is the package name.
	Package string `json:"package"`
	// Version is the installed version, or the target version of a
	// package not installed yet.
	Version string `json:"version,omitempty"`
	// Status is the recorded install status (OK, ERROR, INSTALLING,
	// REMOVING); empty for a package not installed yet.
	Status string `json:"status,omitempty"`
	// State is where the package stands against what the host should have
	// (one of States).
	State string `json:"state,omitempty"`
	// LastError is the last install or audit error, if any.
	LastError string `json:"last_error,omitempty"`
	// AuditStatus is the result of the last audit (OK, WARNING, ERROR).
	AuditStatus string `json:"audit_status,omitempty"`
	// InstallDate is when the package was installed.
	InstallDate time.Time `json:"install_date,omitzero"`
	// Explicit is true when the package was asked for by name, false when
	// it came in as a dependency.
	Explicit bool `json:"explicit,omitempty"`
}

// RunSummary is the outcome of one update or upgrade run.
type RunSummary struct {
	// Time is when the run ended.
	Time time.Time `json:"time"`
	// OK is true when the run succeeded.
	OK bool `json:"ok"`
	// Error is the reason of a failed run.
	Error string `json:"error,omitempty"`
}

// Section is one inventory section of a StatusReport.
type Section struct {
	// Hash identifies the content of Data (lowercase hex, computed by the
	// agent); it must equal SectionHashes[name].
	Hash string `json:"hash"`
	// Data is the section content, any JSON value.
	Data json.RawMessage `json:"data"`
}

// HostSummary is one row of the admin host list.
type HostSummary struct {
	UUID      string `json:"uuid"`
	FQDN      string `json:"fqdn"`
	Hostname  string `json:"hostname,omitempty"`
	OS        string `json:"os,omitempty"`
	OSVersion string `json:"os_version,omitempty"`
	// Status is the derived host state (one of States); empty before the
	// first status report.
	Status string `json:"status,omitempty"`
	// Pending counts the packages waiting to be installed, upgraded or
	// removed.
	Pending int `json:"pending"`
	// Errors counts the packages in ERROR.
	Errors int `json:"errors"`
	// LastSeen is when the last status report was accepted.
	LastSeen time.Time `json:"last_seen,omitzero"`
	// Registered is when the host (last) registered.
	Registered time.Time `json:"registered"`
	// CertFingerprint is the hex SHA-256 of the current host certificate.
	CertFingerprint string `json:"cert_fingerprint,omitempty"`
	// Unit is the organizational unit DN reported by the agent.
	Unit string `json:"unit,omitempty"`
	// Hardware is what the server derived from the host's inventory
	// sections; nil when it knows nothing.
	Hardware *HostHardware `json:"hardware,omitempty"`
	// DuplicateSystemUUID is set when another registered (unrevoked) host
	// reports the same DMI/SMBIOS system UUID: a cloned machine, or one
	// registered twice. Hosts are never merged on it.
	DuplicateSystemUUID bool `json:"duplicate_system_uuid,omitempty"`
}

// HostHardware is the queryable part of a host's inventory, derived by the
// server from its "dmi", "cpu", "memory", "disks" and "host" sections.
// Zero fields are unknown.
type HostHardware struct {
	Manufacturer string `json:"manufacturer,omitempty"`
	Model        string `json:"model,omitempty"`
	Serial       string `json:"serial,omitempty"`
	// SystemUUID is the DMI/SMBIOS system UUID, lower case.
	SystemUUID string `json:"system_uuid,omitempty"`
	CPU        string `json:"cpu,omitempty"`
	RAMBytes   int64  `json:"ram_bytes,omitempty"`
	// DiskTotalBytes and DiskFreeBytes sum the local partitions (one per
	// device); DiskFreeBytes is nil when unknown (0 is a full disk).
	DiskTotalBytes int64  `json:"disk_total_bytes,omitempty"`
	DiskFreeBytes  *int64 `json:"disk_free_bytes,omitempty"`
	// OSName is the full OS name ("Debian GNU/Linux 12 (bookworm)").
	OSName string `json:"os_name,omitempty"`
	Kernel string `json:"kernel,omitempty"`
}

// HostList is the answer of GET /api/v1/hosts: one page of hosts.
type HostList struct {
	Hosts []HostSummary `json:"hosts"`
	// Total is the number of hosts matching the filters, all pages.
	Total int `json:"total"`
	// Offset and Limit are the paging actually applied.
	Offset int `json:"offset"`
	Limit  int `json:"limit"`
}

// HostDetail is the answer of GET /api/v1/hosts/{uuid}.
type HostDetail struct {
	Summary  HostSummary    `json:"summary"`
	Packages []PackageState `json:"packages"`
	Problems []string       `json:"problems,omitempty"`
	// LastUpdate and LastUpgrade are from the last status report.
	LastUpdate  *RunSummary `json:"last_update,omitempty"`
	LastUpgrade *RunSummary `json:"last_upgrade,omitempty"`
	// LastReport is the Time of the last status report (agent clock).
	LastReport time.Time `json:"last_report,omitzero"`
	// Sections are the stored inventory sections, by name.
	Sections map[string]json.RawMessage `json:"sections,omitempty"`
	// Groups are the group packages the host package depends on.
	Groups []string `json:"groups,omitempty"`
	// SameSystemUUID lists the other registered hosts reporting the same
	// system UUID (see HostSummary.DuplicateSystemUUID).
	SameSystemUUID []string `json:"same_system_uuid,omitempty"`
}

// Export formats of GET /api/v1/hosts/export.
const (
	// ExportJSON is a JSON array of HostExport.
	ExportJSON = "json"
	// ExportCSV is one CSV line per host, the software in one
	// "softwares" column ("name version; name version").
	ExportCSV = "csv"
	// ExportCSVRows is one CSV line per host and software (the host
	// columns repeated; a host without software has one line).
	ExportCSVRows = "csv-rows"
)

// ExportFormats lists the valid export formats.
var ExportFormats = []string{ExportCSV, ExportCSVRows, ExportJSON}

// HostExport is one host of GET /api/v1/hosts/export, with GLPI's field
// names (glpi-agent inventory and GLPI's computer columns). Sizes are MiB.
type HostExport struct {
	// Name is the short host name.
	Name string `json:"name"`
	FQDN string `json:"fqdn"`
	// UUID is the DMI/SMBIOS system UUID (GLPI's computer uuid).
	UUID string `json:"uuid"`
	// WAPTUUID is the host's WAPT uuid (its certificate's CN).
	WAPTUUID                     string `json:"wapt_uuid"`
	Serial                       string `json:"serial"`
	Manufacturer                 string `json:"manufacturer"`
	ComputerModel                string `json:"computermodel"`
	OperatingSystem              string `json:"operatingsystem"`
	OperatingSystemVersion       string `json:"operatingsystemversion"`
	OperatingSystemKernelVersion string `json:"operatingsystemkernelversion"`
	// Memory is the RAM in MiB (0: unknown).
	Memory int64  `json:"memory"`
	CPU    string `json:"cpu"`
	// DiskTotal and DiskFree are MiB; DiskFree is nil when unknown.
	DiskTotal           int64     `json:"disk_total"`
	DiskFree            *int64    `json:"disk_free"`
	LastInventoryUpdate time.Time `json:"last_inventory_update,omitzero"`
	LastSeen            time.Time `json:"last_seen,omitzero"`
	// Status is the WAPT host state (one of States).
	Status              string `json:"status"`
	Unit                string `json:"unit,omitempty"`
	DuplicateSystemUUID bool   `json:"duplicate_system_uuid,omitempty"`
	// Softwares are the installed software, sorted by name.
	Softwares []ExportSoftware `json:"softwares"`
}

// ExportSoftware is one installed software of a HostExport.
type ExportSoftware struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Publisher string `json:"publisher,omitempty"`
}

// Host event kinds (HostEvent.Kind). Status posts produce status, install,
// upgrade, remove and error events; admin writes (register, unregister,
// host package edits, actions) come from the audit log with their action
// name as kind.
const (
	EventStatus  = "status"
	EventInstall = "install"
	EventUpgrade = "upgrade"
	EventRemove  = "remove"
	EventError   = "error"
)

// HostEvent is one line of a host's history.
type HostEvent struct {
	At   time.Time `json:"at"`
	Kind string    `json:"kind"`
	// Target is the package concerned, or empty for the host itself.
	Target string `json:"target,omitempty"`
	Detail string `json:"detail,omitempty"`
	// Actor is the admin (or "token", "host") of an audit-log event; empty
	// for what the host reported.
	Actor string `json:"actor,omitempty"`
}

// HostHistory is the answer of GET /api/v1/hosts/{uuid}/history, newest
// first.
type HostHistory struct {
	Events []HostEvent `json:"events"`
}
