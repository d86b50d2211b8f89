package wire

import (
	"encoding/json"
	"time"
)

// The uplink: one websocket per agent, GET /api/v1/hosts/{uuid}/uplink,
// authenticated like a status post (the upgrade request is signed with the
// host key, package reqsign, over an empty body). Every frame is one JSON
// UplinkMessage (text frame, at most MaxUplinkMessage bytes).
const (
	// UplinkAction (server → agent): Action holds an admin-signed action
	// (shared/action.Signed) exactly as the admin sent it.
	UplinkAction = "action"
	// UplinkResult (agent → server): Result reports where an action
	// stands on this host.
	UplinkResult = "result"
	// UplinkStatus (server → agent): the server asks for a status report
	// now (sent by the agent over the usual signed POST).
	UplinkStatus = "status"
	// UplinkPing (agent → server): a heartbeat every UplinkPingInterval;
	// the server closes an uplink silent for UplinkIdleTimeout.
	UplinkPing = "ping"
)

// Uplink timing.
const (
	UplinkPingInterval = 30 * time.Second
	UplinkIdleTimeout  = 90 * time.Second
)

// MaxUplinkMessage bounds one uplink frame (an action carries its signer
// chain).
const MaxUplinkMessage = 1 << 20

// UplinkMessage is one frame of the uplink.
type UplinkMessage struct {
	Type   string          `json:"type"`
	Action json.RawMessage `json:"action,omitempty"`
	Result *ActionResult   `json:"result,omitempty"`
}

// Per-host action states (ActionResult.State, HostActionState.State).
// pending: not delivered yet; received: the agent has it; refused: the
// agent did not accept it (Message says why); running; done; error;
// cancelled; expired: never delivered before its expiry.
const (
	ActionPending   = "pending"
	ActionReceived  = "received"
	ActionRefused   = "refused"
	ActionRunning   = "running"
	ActionDone      = "done"
	ActionError     = "error"
	ActionCancelled = "cancelled"
	ActionExpired   = "expired"
	// ActionDuplicate is what an agent answers for an action it already
	// received (same nonce): it is not run again. The server keeps the
	// state it has unless that is still pending (then: received).
	ActionDuplicate = "duplicate"
)

// ActionFinal reports whether state ends an action on a host.
func ActionFinal(state string) bool {
	switch state {
	case ActionRefused, ActionDone, ActionError, ActionCancelled, ActionExpired:
		return true
	}
	return false
}

// ActionResult is an agent's report on one action (UplinkResult).
type ActionResult struct {
	// ID is the action's nonce.
	ID       string    `json:"id"`
	State    string    `json:"state"`
	Progress int       `json:"progress,omitempty"` // 0..100
	Message  string    `json:"message,omitempty"`
	Time     time.Time `json:"time"`
}

// ActionSummary describes one action stored by the server (GET
// /api/v1/actions).
type ActionSummary struct {
	ID        string    `json:"id"` // the nonce
	Action    string    `json:"action"`
	Packages  []string  `json:"packages,omitempty"`
	Signer    string    `json:"signer"` // the admin's common name
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
	Received  time.Time `json:"received"` // when the server accepted it
	// Hosts counts the target hosts per state.
	Hosts map[string]int `json:"hosts"`
}

// HostActionState is where one action stands on one host.
type HostActionState struct {
	Host     string    `json:"host"`
	State    string    `json:"state"`
	Progress int       `json:"progress,omitempty"`
	Message  string    `json:"message,omitempty"`
	Updated  time.Time `json:"updated,omitzero"`
}

// ActionDetail is the answer of GET /api/v1/actions/{id}.
type ActionDetail struct {
	ActionSummary
	Results []HostActionState `json:"results"`
}

// ActionList is the answer of GET /api/v1/actions.
type ActionList struct {
	Actions []ActionSummary `json:"actions"`
}

// ActionAccepted answers POST /api/v1/actions: how many target hosts were
// connected when the server relayed it (others get it when they connect,
// until it expires).
type ActionAccepted struct {
	ID        string `json:"id"`
	Connected int    `json:"connected"`
	Hosts     int    `json:"hosts"`
}
