package inventory

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wapt-go/wapt/shared/signing"
	"github.com/wapt-go/wapt/shared/version"
	"github.com/wapt-go/wapt/shared/wire"
)

// Recorded install statuses of PackageState.Status (as the agent's store
// writes them) and audit statuses.
var (
	installStatuses = map[string]bool{"": true, "OK": true, "ERROR": true, "INSTALLING": true, "REMOVING": true, "UNKNOWN": true}
	auditStatuses   = map[string]bool{"": true, "OK": true, "WARNING": true, "ERROR": true, "UNKNOWN": true}
)

// IngestStatus records rep, the status report of host uuid signed by
// signer, received at now. The signer must be uuid's current, unrevoked
// certificate (CN = uuid), else ErrForbidden; a malformed report gives
// ErrInvalid. The host's package rows are replaced by rep.Packages and its
// sections reconciled with rep.SectionHashes: sections sent are replaced,
// sections not listed are removed, and a listed hash that is neither sent
// nor stored gives a *MissingSectionsError (the agent then sends all).
// Everything is written in one transaction, or nothing. Status posts are
// not audit-logged (thousands per second); last_seen records them.
func (s *Service) IngestStatus(ctx context.Context, uuid string, signer *x509.Certificate, rep wire.StatusReport, now time.Time) error {
	if signer == nil || signer.Subject.CommonName != uuid {
		return fmt.Errorf("status of %q: %w: not signed by the host's certificate", uuid, ErrForbidden)
	}
	u, err := buildUpdate(uuid, rep)
	if err != nil {
		return fmt.Errorf("status of %q: %w", uuid, err)
	}
	u.Fingerprint = signing.Fingerprint(signer)
	u.At = now
	if err := s.st.SaveStatus(ctx, u); err != nil {
		return fmt.Errorf("status of %q: %w", uuid, err)
	}
	return nil
}

// buildUpdate validates rep and derives the host status.
func buildUpdate(uuid string, rep wire.StatusReport) (StatusUpdate, error) {
	f := map[string]string{}
	if rep.UUID != uuid {
		f["uuid"] = fmt.Sprintf("%q is not the host of the request", rep.UUID)
	}
	if rep.HostStatus != "" && !validState(rep.HostStatus) {
		f["host_status"] = fmt.Sprintf("unknown state %q", rep.HostStatus)
	}
	if len(rep.Packages) > MaxPackages {
		f["packages"] = fmt.Sprintf("more than %d packages", MaxPackages)
		return StatusUpdate{}, invalid(f)
	}
	u := StatusUpdate{
		UUID: uuid, ReportTime: rep.Time, Problems: rep.Problems,
		LastUpdate: rep.LastUpdate, LastUpgrade: rep.LastUpgrade,
		Packages: make([]PackageRow, 0, len(rep.Packages)), ReplacePackages: true,
	}
	seen := make(map[string]bool, len(rep.Packages))
	for i, p := range rep.Packages {
		key := fmt.Sprintf("packages[%d]", i)
		name := strings.ToLower(p.Package)
		if !checkName(f, key+".package", p.Package, true) {
			continue
		}
		if seen[name] {
			f[key+".package"] = fmt.Sprintf("%q listed twice", p.Package)
			continue
		}
		seen[name] = true
		p.Package = name
		var vk []byte
		if p.Version != "" {
			v, err := version.Parse(p.Version)
			if err != nil {
				f[key+".version"] = err.Error()
				continue
			}
			vk = VersionKey(v)
		}
		if !installStatuses[p.Status] {
			f[key+".status"] = fmt.Sprintf("unknown status %q", p.Status)
		}
		if !validState(p.State) {
			f[key+".state"] = fmt.Sprintf("unknown state %q", p.State)
		}
		if !auditStatuses[p.AuditStatus] {
			f[key+".audit_status"] = fmt.Sprintf("unknown audit status %q", p.AuditStatus)
		}
		checkText(f, key+".last_error", p.LastError)
		u.Packages = append(u.Packages, PackageRow{PackageState: p, VersionKey: vk})
		switch p.State {
		case wire.StateError:
			u.Errors++
		case wire.StateNeedInstall, wire.StateNeedUpgrade, wire.StateNeedRemove:
			u.Pending++
		}
		if u.Status == "" || worse(p.State, u.Status) {
			u.Status = p.State
		}
	}
	if u.Status == "" {
		u.Status = wire.StateOK // no package: nothing to do
	}
	if len(rep.Problems) > MaxProblems {
		f["problems"] = fmt.Sprintf("more than %d lines", MaxProblems)
	}
	for i, p := range rep.Problems {
		checkText(f, fmt.Sprintf("problems[%d]", i), p)
	}
	for key, r := range map[string]*wire.RunSummary{"last_update": rep.LastUpdate, "last_upgrade": rep.LastUpgrade} {
		if r != nil {
			checkText(f, key+".error", r.Error)
		}
	}
	checkSections(f, rep, &u)
	checkUnit(f, "unit", rep.Unit)
	u.Unit = rep.Unit
	if err := invalid(f); err != nil {
		return StatusUpdate{}, err
	}
	return u, nil
}

// checkSections validates rep's sections against its hashes and fills the
// section part of u.
func checkSections(f map[string]string, rep wire.StatusReport, u *StatusUpdate) {
	if rep.SectionHashes == nil {
		if len(rep.Sections) > 0 {
			f["section_hashes"] = "missing while sections are sent"
		}
		return // an agent without inventory: sections untouched
	}
	if len(rep.SectionHashes) > MaxSections {
		f["section_hashes"] = fmt.Sprintf("more than %d sections", MaxSections)
		return
	}
	u.ReconcileSections = true
	u.KeepSections = map[string]string{}
	total := 0
	raw := map[string][]byte{}
	for _, name := range sortedKeys(rep.SectionHashes) {
		hash := rep.SectionHashes[name]
		if !checkName(f, "section_hashes."+name, name, true) {
			continue
		}
		if !validHash(hash) {
			f["section_hashes."+name] = "not a lowercase hex hash"
			continue
		}
		sec, sent := rep.Sections[name]
		if !sent {
			u.KeepSections[name] = hash
			continue
		}
		total += len(sec.Data)
		if total > MaxSectionTotal {
			continue // refused below; do not derive more
		}
		if sec.Hash != hash {
			f["sections."+name] = "hash differs from section_hashes"
			continue
		}
		facts, ok := checkSection(f, name, sec.Data)
		if !ok {
			continue
		}
		raw[name] = sec.Data
		u.SetSections = append(u.SetSections, SectionData{Name: name, Hash: hash, Data: sec.Data, Facts: facts})
	}
	for name := range rep.Sections {
		if _, ok := rep.SectionHashes[name]; !ok {
			f["sections."+name] = "not listed in section_hashes"
		}
	}
	if total > MaxSectionTotal {
		f["sections"] = fmt.Sprintf("%d bytes in all, more than %d", total, MaxSectionTotal)
	}
	u.OS, u.OSVersion = osFromSections(raw)
}

func validHash(h string) bool {
	if h == "" || len(h) > 128 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func checkText(f map[string]string, key, v string) {
	switch {
	case len(v) > MaxTextLen:
		f[key] = fmt.Sprintf("longer than %d bytes", MaxTextLen)
	case !utf8.ValidString(v):
		f[key] = "not valid UTF-8"
	}
}

// MaxUnitLen bounds an organizational unit DN.
const MaxUnitLen = 1024

// checkUnit validates an organizational unit DN: bounded, valid UTF-8, no
// control characters.
func checkUnit(f map[string]string, key, v string) {
	switch {
	case len(v) > MaxUnitLen:
		f[key] = fmt.Sprintf("longer than %d bytes", MaxUnitLen)
	case !utf8.ValidString(v):
		f[key] = "not valid UTF-8"
	case strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		f[key] = "control character"
	}
}
