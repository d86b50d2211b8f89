package wire

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
)

// The local API is served by the agent service on a unix socket (a named
// pipe on Windows) to the tray, waptexit, self-service and wapt-get. Its
// error answers are Error bodies with one of the codes below.

// CodeBusy is the Error.Code of a 409 from the local API: the agent is
// already running a task that conflicts with the request.
const CodeBusy = "busy"

// Kinds of local task (LocalTaskRequest.Kind, LocalTask.Kind).
const (
	LocalKindUpdate  = "update"
	LocalKindUpgrade = "upgrade"
	LocalKindInstall = "install"
	LocalKindRemove  = "remove"
	LocalKindAudit   = "audit"
)

// LocalKinds lists the valid task kinds.
var LocalKinds = []string{LocalKindUpdate, LocalKindUpgrade, LocalKindInstall, LocalKindRemove, LocalKindAudit}

// States of a local task (LocalTask.State).
const (
	LocalStateQueued    = "queued"
	LocalStateRunning   = "running"
	LocalStateDone      = "done"
	LocalStateError     = "error"
	LocalStateCancelled = "cancelled"
)

// Limits of a LocalTaskRequest.
const (
	MaxLocalTaskPackages = 1000
	// MaxLocalPackageArgLen bounds one package argument, which may carry a
	// version constraint ("tis-firefox(>=120)").
	MaxLocalPackageArgLen = MaxPackageNameLen + MaxVersionLen
)

// LocalCaller is the OS identity of a local API client, read by the agent
// from the socket (SO_PEERCRED, LOCAL_PEERCRED) or from the pipe client's
// token; it never comes from the request.
type LocalCaller struct {
	// UID is the numeric user id on unix, the user SID on Windows.
	UID string `json:"uid"`
	// Username is the login name (DOMAIN\name on Windows), or UID when it
	// cannot be resolved.
	Username string `json:"username"`
	// Groups are the caller's group names (numeric ids or SIDs when a name
	// cannot be resolved).
	Groups []string `json:"groups,omitempty"`
	// Admin is true for root (uid 0), and on Windows for SYSTEM and for
	// members of an enabled (elevated) Administrators group.
	Admin bool `json:"admin"`
}

// LocalStatus is the answer of GET /v1/status.
type LocalStatus struct {
	HostUUID string `json:"host_uuid"`
	// Status is the host state, one of States, or "" before the first run.
	Status string `json:"status"`
	// Pending are the packages to install, upgrade or remove.
	Pending []LocalPackage `json:"pending"`
	// Running is the task in progress, if any.
	Running     *LocalTask  `json:"running,omitempty"`
	LastUpdate  *RunSummary `json:"last_update,omitempty"`
	LastUpgrade *RunSummary `json:"last_upgrade,omitempty"`
	// Connected is true while the agent has its uplink to the server.
	Connected bool `json:"connected"`
	// Errors are human-readable problems (failed packages, bad config).
	Errors []string `json:"errors,omitempty"`
	// Exit is the waptexit policy of this host (from the agent's ini).
	Exit *ExitPolicy `json:"exit,omitempty"`
}

// LocalPackage is one package of LocalStatus.Pending.
type LocalPackage struct {
	Package string `json:"package"`
	// Version is the version that will be installed; empty for a removal.
	Version string `json:"version,omitempty"`
	// InstalledVersion is empty when the package is not installed.
	InstalledVersion string `json:"installed_version,omitempty"`
	// State is one of States (NEED-INSTALL, NEED-UPGRADE, ...).
	State       string `json:"state"`
	Description string `json:"description,omitempty"`
	Section     string `json:"section,omitempty"`
	// Priority is the control's priority (waptexit honours
	// ExitPolicy.Priorities with it); empty for a removal.
	Priority string `json:"priority,omitempty"`
	// ImpactedProcess are the control's impacted_process names (waptexit
	// skips the package while one runs, per
	// ExitPolicy.OnlyIfNotProcessRunning).
	ImpactedProcess []string `json:"impacted_process,omitempty"`
}

// LocalTask is a task run by the agent on behalf of a local caller or of
// its own schedule.
type LocalTask struct {
	ID   int64  `json:"id"`
	Kind string `json:"kind"`
	// Packages are the packages the task was asked for (none: all).
	Packages []string `json:"packages,omitempty"`
	// State is one of the LocalState* values.
	State string `json:"state"`
	// Progress is 0 to 100.
	Progress int `json:"progress"`
	// Message is the current step, or the error of a failed task.
	Message  string    `json:"message,omitempty"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	// Caller is the username that asked for the task; empty for the
	// agent's own schedule.
	Caller string `json:"caller,omitempty"`
}

// LocalTaskRequest is the body of POST /v1/tasks.
type LocalTaskRequest struct {
	// Kind is one of LocalKinds.
	Kind string `json:"kind"`
	// Packages are required for install and remove, optional otherwise.
	Packages []string `json:"packages,omitempty"`
	// Force reinstalls, or re-audits, even when nothing seems needed.
	Force bool `json:"force,omitempty"`
}

// LocalEvent is one change of a task, as long-polled on GET /v1/events.
type LocalEvent struct {
	// Seq increases by one per event; clients ask for events after the
	// last Seq they saw.
	Seq  int64     `json:"seq"`
	Time time.Time `json:"time"`
	// Task is the task as it was after the change.
	Task LocalTask `json:"task"`
}

// SelfServicePackage is one package of GET /v1/selfservice.
type SelfServicePackage struct {
	Package string `json:"package"`
	// Name is the control's display name, when it has one.
	Name    string `json:"name,omitempty"`
	Version string `json:"version"`
	// Description is in the agent's first configured locale when the
	// control has a description_<locale>, else the plain description.
	Description string `json:"description,omitempty"`
	// Descriptions are the control's description_<lang> texts by lang
	// ("fr", "de"), for a client that knows its user's language.
	Descriptions map[string]string `json:"descriptions,omitempty"`
	// Category is the first of Categories.
	Category   string   `json:"category,omitempty"`
	Categories []string `json:"categories,omitempty"`
	// Icon is a base64-encoded PNG.
	Icon             string `json:"icon,omitempty"`
	InstalledVersion string `json:"installed_version,omitempty"`
	// Allowed is true when the caller may install or remove the package.
	Allowed bool `json:"allowed"`
}

// Validate checks r's fields; the error is a *FieldsError.
func (r *LocalTaskRequest) Validate() error {
	f := fields{}
	if !slices.Contains(LocalKinds, r.Kind) {
		f.add("kind", "unknown kind %.40q (want one of %s)", r.Kind, strings.Join(LocalKinds, ", "))
	}
	switch {
	case len(r.Packages) > MaxLocalTaskPackages:
		f.add("packages", "more than %d packages", MaxLocalTaskPackages)
	case len(r.Packages) == 0 && (r.Kind == LocalKindInstall || r.Kind == LocalKindRemove):
		f.add("packages", "required for %s", r.Kind)
	}
	for i, p := range r.Packages {
		if i >= MaxLocalTaskPackages {
			break
		}
		key := fmt.Sprintf("packages[%d]", i)
		switch {
		case p == "":
			f.add(key, "empty")
		case len(p) > MaxLocalPackageArgLen:
			f.add(key, "longer than %d bytes", MaxLocalPackageArgLen)
		case !printable(p) || strings.ContainsFunc(p, unicode.IsSpace):
			f.add(key, "contains spaces or control characters")
		}
	}
	return f.err()
}

// ExitPolicy is what waptexit may do at shutdown (WAPT's ini keys).
type ExitPolicy struct {
	// AllowCancel (allow_cancel_upgrade, default true) shows "Postpone".
	AllowCancel bool `json:"allow_cancel_upgrade"`
	// Priorities (upgrade_priorities): only packages of these priorities
	// are installed at shutdown (empty: all).
	Priorities []string `json:"upgrade_priorities,omitempty"`
	// OnlyIfNotProcessRunning (upgrade_only_if_not_process_running): skip
	// packages whose impacted_process is running.
	OnlyIfNotProcessRunning bool `json:"upgrade_only_if_not_process_running"`
	// MaxDuration (max_waptexit_duration, seconds; 0 = no cap) bounds the
	// whole shutdown upgrade.
	MaxDuration int `json:"max_waptexit_duration,omitempty"`
	// Countdown (waptexit_countdown, seconds, default 10) before the
	// upgrade starts on its own.
	Countdown int `json:"waptexit_countdown"`
}
