// Package report turns the engine's view of the host into the status
// report the server stores, and sends it: queued in the agent's database
// when the server cannot be reached, and delivered, oldest first, at the
// next successful contact.
package report

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/wapt-go/wapt/agent/engine"
	"github.com/wapt-go/wapt/server/client"
	"github.com/wapt-go/wapt/shared/wire"
)

// KindStatus is the queue kind of status reports.
const KindStatus = "status"

// Build makes the status report of host uuid from its computed status and
// its installed records.
func Build(uuid string, st engine.HostStatus, installed []engine.Installed, now time.Time) wire.StatusReport {
	rep := wire.StatusReport{UUID: uuid, Time: now.UTC(), HostStatus: string(st.State), Problems: st.Problems}
	byName := map[string]engine.Installed{}
	for _, in := range installed {
		byName[strings.ToLower(in.Package)] = in
	}
	seen := map[string]bool{}
	for _, p := range st.Packages {
		key := strings.ToLower(p.Package)
		if seen[key] {
			continue
		}
		seen[key] = true
		ps := wire.PackageState{Package: p.Package, Version: p.Installed, State: string(p.State), Explicit: p.Explicit}
		if ps.Version == "" {
			ps.Version = p.Available
		}
		if in, ok := byName[key]; ok {
			ps.Status, ps.LastError, ps.AuditStatus, ps.InstallDate = string(in.Status), in.LastError, in.AuditStatus, in.InstallDate.UTC()
		}
		rep.Packages = append(rep.Packages, ps)
	}
	// Installed packages the status does not list (none today) still count.
	for _, in := range installed {
		if !seen[strings.ToLower(in.Package)] {
			rep.Packages = append(rep.Packages, wire.PackageState{Package: in.Package, Version: in.Version, Status: string(in.Status),
				State: string(engine.StateOK), LastError: in.LastError, AuditStatus: in.AuditStatus, InstallDate: in.InstallDate.UTC(), Explicit: in.Explicit})
		}
	}
	sort.Slice(rep.Packages, func(i, j int) bool { return rep.Packages[i].Package < rep.Packages[j].Package })
	return rep
}

// Poster posts a status report (server/client.Client).
type Poster interface {
	PostStatus(ctx context.Context, uuid string, rep wire.StatusReport) error
}

// Queue is the agent's persistent report queue (agent/store).
type Queue interface {
	QueueReport(ctx context.Context, kind string, body []byte, now time.Time) error
	PendingReports(ctx context.Context, limit int) ([]engine.Report, error)
	DeleteReports(ctx context.Context, ids []int64) error
}

// Sender delivers reports.
type Sender struct {
	Poster Poster
	Queue  Queue
	Logf   func(string, ...any)
}

// maxQueued bounds what is kept when the server stays away: status reports
// supersede each other, so only the newest matter.
const maxQueued = 50

// Send delivers the queued reports, oldest first, then rep. When the server
// cannot be reached (network error, 5xx) rep is queued and the error
// returned; a report the server refuses for good (4xx) is dropped with the
// error, so that it does not block the queue forever.
func (s *Sender) Send(ctx context.Context, rep wire.StatusReport, now time.Time) error {
	pending, err := s.Queue.PendingReports(ctx, 0)
	if err != nil {
		return err
	}
	for _, p := range pending {
		var old wire.StatusReport
		if err := json.Unmarshal(p.Body, &old); err == nil && p.Kind == KindStatus {
			err = s.Poster.PostStatus(ctx, old.UUID, old)
			if transient(err) {
				return s.enqueue(ctx, rep, now, err)
			}
			if err != nil && s.Logf != nil {
				s.Logf("queued status report of %s refused by the server, dropped: %v", p.Created.Format(time.RFC3339), err)
			}
		}
		if err := s.Queue.DeleteReports(ctx, []int64{p.ID}); err != nil {
			return err
		}
	}
	err = s.Poster.PostStatus(ctx, rep.UUID, rep)
	if transient(err) {
		return s.enqueue(ctx, rep, now, err)
	}
	return err
}

func (s *Sender) enqueue(ctx context.Context, rep wire.StatusReport, now time.Time, cause error) error {
	body, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	if err := s.Queue.QueueReport(ctx, KindStatus, body, now); err != nil {
		return errors.Join(cause, err)
	}
	if pending, err := s.Queue.PendingReports(ctx, 0); err == nil && len(pending) > maxQueued {
		var drop []int64
		for _, p := range pending[:len(pending)-maxQueued] {
			drop = append(drop, p.ID)
		}
		_ = s.Queue.DeleteReports(ctx, drop)
	}
	return fmt.Errorf("%w: status report queued: %w", ErrQueued, cause)
}

// ErrQueued reports that the server was unreachable and the report waits
// in the queue.
var ErrQueued = errors.New("server unreachable")

// transient tells whether err may succeed later (no answer, or a 5xx).
func transient(err error) bool {
	if err == nil {
		return false
	}
	var ae *client.APIError
	if errors.As(err, &ae) {
		return ae.Status >= 500 || ae.Status == 429
	}
	return !errors.Is(err, context.Canceled)
}

// AddInventory puts the inventory sections into rep: the hash of every
// section, and the data of those whose hash differs from acked[name] (all
// of them when acked is nil, as after a conflict). It returns the hashes,
// which the caller records as acknowledged once the report is accepted.
func AddInventory(rep *wire.StatusReport, secs map[string]json.RawMessage, acked map[string]string) map[string]string {
	hashes := make(map[string]string, len(secs))
	for name, data := range secs {
		h := sha256.Sum256(data)
		hash := hex.EncodeToString(h[:])
		hashes[name] = hash
		if acked != nil && acked[name] == hash {
			continue
		}
		if rep.Sections == nil {
			rep.Sections = map[string]wire.Section{}
		}
		rep.Sections[name] = wire.Section{Hash: hash, Data: data}
	}
	rep.SectionHashes = hashes
	return hashes
}

// IsConflict reports a status report the server refused because it lacks
// sections the report only listed by hash: send it again with all of them.
func IsConflict(err error) bool {
	var ae *client.APIError
	return errors.As(err, &ae) && ae.Status == 409
}
