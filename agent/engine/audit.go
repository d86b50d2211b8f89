package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wapt-go/wapt/shared/control"
)

// Audit results, from best to worst.
const (
	AuditOK      = "OK"
	AuditWarning = "WARNING"
	AuditError   = "ERROR"
)

func auditRank(s string) int {
	switch s {
	case AuditOK:
		return 0
	case AuditWarning:
		return 1
	}
	return 2
}

// ParseAuditSchedule reads a package's audit_schedule: a number of minutes,
// or a number with a unit m, h, d or w ("30", "2h", "1d"). Empty means no
// periodic audit.
func ParseAuditSchedule(s string) (time.Duration, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" {
		return 0, nil
	}
	unit := time.Minute
	switch s[len(s)-1] {
	case 'm':
		s = s[:len(s)-1]
	case 'h':
		unit, s = time.Hour, s[:len(s)-1]
	case 'd':
		unit, s = 24*time.Hour, s[:len(s)-1]
	case 'w':
		unit, s = 7*24*time.Hour, s[:len(s)-1]
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n <= 0 || n > 100000 {
		return 0, fmt.Errorf("audit_schedule %q: a positive number of minutes, or 2h, 1d, 1w expected", s)
	}
	return time.Duration(n) * unit, nil
}

// AuditResult is one package's audit.
type AuditResult struct {
	Package string `json:"package"`
	Status  string `json:"status"`
	Output  string `json:"output,omitempty"`
	Skipped bool   `json:"skipped,omitempty"` // not due yet
}

// Audit runs audit() of the installed packages that are due (all of them
// when force, or only those named), records the results and the next date,
// and returns them with the host's audit status (the worst).
func (e *Engine) Audit(ctx context.Context, force bool, names ...string) ([]AuditResult, string, error) {
	ins, err := e.cfg.Store.ListInstalled(ctx)
	if err != nil {
		return nil, "", err
	}
	now := e.cfg.Now()
	worst := AuditOK
	var out []AuditResult
	for _, in := range ins {
		if len(names) > 0 && !containsFold(names, in.Package) {
			continue
		}
		c, err := control.Parse(in.Package+"/WAPT/control", []byte(in.Control))
		if err != nil {
			return out, "", err
		}
		every, err := ParseAuditSchedule(c.Get("audit_schedule"))
		if err != nil {
			e.cfg.Logf("%s: %v", in.Package, err)
		}
		due := force || len(names) > 0 || (every > 0 && !now.Before(in.NextAudit))
		if !due {
			out = append(out, AuditResult{Package: in.Package, Status: in.AuditStatus, Skipped: true})
			if in.AuditStatus != "" && auditRank(in.AuditStatus) > auditRank(worst) {
				worst = in.AuditStatus
			}
			continue
		}
		res := e.auditOne(ctx, in, c)
		in.AuditStatus, in.AuditOutput, in.LastAudit = res.Status, res.Output, now
		if every > 0 {
			in.NextAudit = now.Add(every)
		}
		if err := e.cfg.Store.PutInstalled(ctx, in); err != nil {
			return out, "", err
		}
		if auditRank(res.Status) > auditRank(worst) {
			worst = res.Status
		}
		out = append(out, res)
	}
	return out, worst, nil
}

func (e *Engine) auditOne(ctx context.Context, in Installed, c *control.Control) AuditResult {
	res := AuditResult{Package: in.Package}
	if in.Status != StatusOK {
		res.Status, res.Output = AuditError, "install status is "+string(in.Status)+": "+in.LastError
		return res
	}
	if len(in.SetupPy) == 0 {
		res.Status = AuditOK
		return res
	}
	work, err := os.MkdirTemp(e.cfg.WorkDir, sanitize(in.Package)+"-audit-")
	if err != nil {
		res.Status, res.Output = AuditError, err.Error()
		return res
	}
	defer os.RemoveAll(work)
	var buf bytes.Buffer
	r, err := e.cfg.Scripts.Run(ctx, ScriptRequest{
		Source: in.SetupPy, Filename: in.Package + "/setup.py", Hook: "audit", Control: c,
		Params: in.Params, PersistentDir: in.PersistentDir, WorkDir: work, Output: &buf,
	})
	res.Output = tail(buf.String(), maxOutput)
	if res.Output == "" {
		res.Output = tail(r.Output, maxOutput)
	}
	switch {
	case errors.Is(err, ErrNoSuchHook):
		res.Status = AuditOK
	case err != nil:
		res.Status = AuditError
		res.Output = strings.TrimSpace(res.Output + "\n" + err.Error())
	default:
		switch s := strings.ToUpper(strings.TrimSpace(r.Return)); s {
		case AuditOK, AuditWarning, AuditError:
			res.Status = s
		case "", "NONE":
			res.Status = AuditOK
		default:
			res.Status = AuditError
			res.Output = strings.TrimSpace(res.Output + "\naudit() returned " + strconv.Quote(r.Return) + " (OK, WARNING or ERROR expected)")
		}
	}
	return res
}

// SessionResult is one package's session_setup run.
type SessionResult struct {
	Package string `json:"package"`
	Version string `json:"version"`
	Status  Status `json:"status"`
	Output  string `json:"output,omitempty"`
	Skipped bool   `json:"skipped,omitempty"` // already done for this user and version
}

// SessionSetup runs session_setup() of the installed packages (all, or
// those named) for user, once per user and package version; force runs
// them again.
func (e *Engine) SessionSetup(ctx context.Context, user string, force bool, names ...string) ([]SessionResult, error) {
	if user == "" {
		return nil, errors.New("session-setup: no user")
	}
	ins, err := e.cfg.Store.ListInstalled(ctx)
	if err != nil {
		return nil, err
	}
	var out []SessionResult
	var errs []error
	for _, in := range ins {
		if len(names) > 0 && !containsFold(names, in.Package) {
			continue
		}
		if in.Status != StatusOK || len(in.SetupPy) == 0 || !bytes.Contains(in.SetupPy, []byte("session_setup")) {
			continue
		}
		res := SessionResult{Package: in.Package, Version: in.Version}
		done, err := e.cfg.Store.SessionSetupDone(ctx, user, in.Package, in.Version)
		if err != nil {
			return out, err
		}
		if done && !force {
			res.Skipped, res.Status = true, StatusOK
			out = append(out, res)
			continue
		}
		c, err := control.Parse(in.Package+"/WAPT/control", []byte(in.Control))
		if err != nil {
			return out, err
		}
		work, err := os.MkdirTemp(e.cfg.WorkDir, sanitize(in.Package)+"-session-")
		if err != nil {
			return out, err
		}
		var buf bytes.Buffer
		_, runErr := e.cfg.Scripts.Run(ctx, ScriptRequest{
			Source: in.SetupPy, Filename: in.Package + "/setup.py", Hook: "session_setup", Control: c,
			Params: in.Params, PersistentDir: in.PersistentDir, User: user, WorkDir: work, Output: &buf,
		})
		os.RemoveAll(work)
		if errors.Is(runErr, ErrNoSuchHook) {
			continue
		}
		res.Status, res.Output = StatusOK, tail(buf.String(), maxOutput)
		if runErr != nil {
			res.Status = StatusError
			res.Output = strings.TrimSpace(res.Output + "\n" + runErr.Error())
			errs = append(errs, fmt.Errorf("%s: %w", in.Package, runErr))
		}
		if err := e.cfg.Store.RecordSessionSetup(ctx, SessionSetup{User: user, Package: in.Package, Version: in.Version, Status: res.Status, Output: res.Output, Date: e.cfg.Now()}); err != nil {
			return out, err
		}
		out = append(out, res)
	}
	return out, errors.Join(errs...)
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
