package daemon

import (
	"context"
	"fmt"
	"strings"

	"github.com/wapt-go/wapt/agent/localapi"
	"github.com/wapt-go/wapt/agent/selfservice"
	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/wire"
)

// rules merges the self-service rules of the installed self-service
// packages. A broken rules file disables only its own package's rules; it
// is logged once per package and error.
func (d *Daemon) rules(ctx context.Context) (selfservice.Rules, error) {
	files, err := d.cfg.Engine.SelfServiceRules(ctx)
	if err != nil {
		return selfservice.Rules{}, fmt.Errorf("self-service rules: %w", err)
	}
	var all []selfservice.Rules
	for _, f := range files {
		var (
			r    selfservice.Rules
			perr error
		)
		switch {
		case f.Err != "":
			perr = fmt.Errorf("%w: %s: %s", selfservice.ErrRules, f.Package, f.Err)
		case f.Data == nil:
			continue // no rules file: grants nothing (logged at install)
		default:
			r, perr = selfservice.Parse(f.Package, f.Data)
		}
		d.mu.Lock()
		msg := ""
		if perr != nil {
			msg = f.Version + ": " + perr.Error()
		}
		logIt := perr != nil && d.badRules[f.Package] != msg
		d.badRules[f.Package] = msg
		d.mu.Unlock()
		if logIt {
			d.cfg.Logf("self-service rules of %s %s ignored: %v", f.Package, f.Version, perr)
		}
		if perr == nil {
			all = append(all, r)
		}
	}
	return selfservice.Merge(all...), nil
}

// authorize checks that the self-service rules grant caller c every
// package of an install or remove: by name only (no version, no file), a
// package the repositories offer this host (install) or an installed one
// (remove). Refusals wrap localapi.ErrForbidden with the reason; grants
// lists, per package, the rule that grants it.
func (d *Daemon) authorize(ctx context.Context, c wire.LocalCaller, kind string, args []string) (grants []string, err error) {
	rules, err := d.rules(ctx)
	if err != nil {
		return nil, err
	}
	g := rules.For(c)
	if g.Empty() {
		return nil, fmt.Errorf("%w: %s of named packages needs an administrator, and no self-service rule grants %s any package",
			localapi.ErrForbidden, kind, callerName(c))
	}
	known, err := d.packages(ctx, kind)
	if err != nil {
		return nil, err
	}
	for _, a := range args {
		name, err := plainName(a)
		if err != nil {
			return nil, fmt.Errorf("%w: self-service %s is by package name only: %v", localapi.ErrForbidden, kind, err)
		}
		p, ok := known[strings.ToLower(name)]
		if !ok {
			where := "offered to this host by the repositories"
			if kind == wire.LocalKindRemove {
				where = "installed"
			}
			return nil, fmt.Errorf("%w: %s is not %s", localapi.ErrForbidden, name, where)
		}
		if err := g.Check(p); err != nil {
			return nil, fmt.Errorf("%w: %s %s: %w", localapi.ErrForbidden, kind, name, err)
		}
		from, _ := g.Allows(p)
		grants = append(grants, name+" by "+from)
	}
	return grants, nil
}

// packages returns what the rules look at for the packages an install
// (the catalogue) or a remove (the installed packages) may name, by
// lower-cased name.
func (d *Daemon) packages(ctx context.Context, kind string) (map[string]selfservice.Package, error) {
	out := map[string]selfservice.Package{}
	if kind == wire.LocalKindRemove {
		inst, err := d.cfg.Engine.Installed(ctx)
		if err != nil {
			return nil, err
		}
		for _, in := range inst {
			p := selfservice.Package{Name: in.Package, Section: in.Section}
			if c, err := control.Parse(in.Package+"/WAPT/control", []byte(in.Control)); err == nil {
				p = selfservice.PackageOf(c)
			}
			out[strings.ToLower(in.Package)] = p
		}
		return out, nil
	}
	cat, err := d.cfg.Engine.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	for _, cand := range cat {
		out[strings.ToLower(cand.Control.Package())] = selfservice.PackageOf(cand.Control)
	}
	return out, nil
}

// SelfService implements localapi.Backend: the packages of the catalogue
// (the candidate this host would install of every package the repositories
// offer) that the self-service rules grant caller c, everything offered
// for an administrator, sorted by name. Icons are not sent: they are
// inside the package files, which the agent only downloads to install.
func (d *Daemon) SelfService(ctx context.Context, c wire.LocalCaller) ([]wire.SelfServicePackage, error) {
	out := []wire.SelfServicePackage{}
	rules, err := d.rules(ctx)
	if err != nil {
		return nil, err
	}
	g := rules.For(c)
	if g.Empty() {
		return out, nil
	}
	cat, err := d.cfg.Engine.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	inst, err := d.cfg.Engine.Installed(ctx)
	if err != nil {
		return nil, err
	}
	installed := map[string]string{}
	for _, in := range inst {
		installed[strings.ToLower(in.Package)] = in.Version
	}
	for _, cand := range cat {
		ctl := cand.Control
		p := selfservice.PackageOf(ctl)
		if _, ok := g.Allows(p); !ok {
			continue
		}
		sp := wire.SelfServicePackage{
			Package: ctl.Package(), Name: ctl.Get("name"), Version: ctl.Get("version"),
			Categories: p.Categories, InstalledVersion: installed[strings.ToLower(p.Name)], Allowed: true,
		}
		sp.Description, sp.Descriptions = describe(ctl, d.cfg.Locales)
		if len(p.Categories) > 0 {
			sp.Category = p.Categories[0]
		}
		out = append(out, sp)
	}
	return out, nil
}

// describe returns the description of c in the first of locales it has a
// description_<locale> for ("fr_FR" also tries "fr"), else its plain
// description, and all of its description_<lang> texts by lang.
func describe(c *control.Control, locales []string) (string, map[string]string) {
	var all map[string]string
	for _, k := range c.Keys() {
		lang, ok := strings.CutPrefix(k, "description_")
		if v := strings.TrimSpace(c.Get(k)); ok && lang != "" && v != "" {
			if all == nil {
				all = map[string]string{}
			}
			all[lang] = v
		}
	}
	for _, loc := range locales {
		loc = strings.ToLower(strings.TrimSpace(loc))
		short, _, _ := strings.Cut(loc, "_")
		for _, l := range []string{loc, short} {
			if v, ok := all[l]; ok {
				return v, all
			}
		}
	}
	return c.Get("description"), all
}
