package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/wapt-go/wapt/shared/resolve"
	"github.com/wapt-go/wapt/shared/version"
)

// Self-service rules travel in packages of section "selfservice", in their
// WAPT/selfservice.json member (agent/selfservice parses and evaluates
// them). The package files are gone once installed, so the engine keeps
// that member in the store, under the parameter "selfservice:<package>",
// and only when it was read from a package whose signature it has just
// verified: never from sources installed in development mode.
const (
	selfServiceSection = "selfservice"
	selfServiceMember  = "WAPT/selfservice.json"
	selfServiceParam   = "selfservice:"
	// MaxSelfServiceRules bounds the rules file kept for one package
	// (agent/selfservice.MaxSize); a larger one is kept as an error.
	MaxSelfServiceRules = 1 << 20
)

// SelfServiceRules is the rules file of an installed self-service package.
type SelfServiceRules struct {
	Package string
	Version string
	// Data is the file as it was in the verified package; nil when the
	// package had none or Err is set.
	Data []byte
	// Err says why the file could not be kept (too large, unreadable).
	Err string
}

// keptRules is the JSON kept under selfServiceParam+name.
type keptRules struct {
	Version string `json:"version"`
	Data    []byte `json:"data,omitempty"`
	Err     string `json:"error,omitempty"`
}

func selfServiceKey(name string) string { return selfServiceParam + strings.ToLower(name) }

// keepSelfServiceRules records the rules file of the self-service package
// name at version, read from dir, its verified and extracted files. A
// missing file keeps an empty record: the package grants nothing.
func (e *Engine) keepSelfServiceRules(ctx context.Context, name, ver, dir string) error {
	k := keptRules{Version: ver}
	data, err := readMember(dir, selfServiceMember, MaxSelfServiceRules)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		e.cfg.Logf("%s: self-service package without %s: it grants nothing", name, selfServiceMember)
	case err != nil:
		k.Err = err.Error()
		e.cfg.Logf("%s: %s not kept: %v", name, selfServiceMember, err)
	default:
		k.Data = data
	}
	b, err := json.Marshal(k)
	if err != nil {
		return err
	}
	if err := e.cfg.Store.SetParam(ctx, selfServiceKey(name), string(b)); err != nil {
		return fmt.Errorf("keep the self-service rules of %s: %w", name, err)
	}
	return nil
}

// dropSelfServiceRules forgets the rules kept for name (the store has no
// delete: an empty value is none). A failure is only logged: rules are
// only used for installed self-service packages of the same version.
func (e *Engine) dropSelfServiceRules(ctx context.Context, name string) {
	key := selfServiceKey(name)
	if v, err := e.cfg.Store.Param(ctx, key); err != nil || v == "" {
		return
	}
	if err := e.cfg.Store.SetParam(ctx, key, ""); err != nil {
		e.cfg.Logf("%s: forget its self-service rules: %v", name, err)
	}
}

// readMember reads the regular file name (slash-separated, relative) under
// dir through an os.Root, refusing one larger than max.
func readMember(dir, name string, max int64) ([]byte, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, max)
	}
	return b, nil
}

// SelfServiceRules returns the rules files kept for the installed
// self-service packages, sorted by package. Only packages recorded OK
// whose kept rules are of the installed version count: a package caught
// half-way through an install or in ERROR grants nothing until it is
// installed again.
func (e *Engine) SelfServiceRules(ctx context.Context) ([]SelfServiceRules, error) {
	installed, err := e.cfg.Store.ListInstalled(ctx)
	if err != nil {
		return nil, err
	}
	var out []SelfServiceRules
	for _, in := range installed {
		if in.Section != selfServiceSection || in.Status != StatusOK {
			continue
		}
		v, err := e.cfg.Store.Param(ctx, selfServiceKey(in.Package))
		if errors.Is(err, ErrNotFound) || (err == nil && v == "") {
			continue
		}
		if err != nil {
			return nil, err
		}
		var k keptRules
		if err := json.Unmarshal([]byte(v), &k); err != nil {
			out = append(out, SelfServiceRules{Package: in.Package, Version: in.Version, Err: "kept rules unreadable: " + err.Error()})
			continue
		}
		if k.Version != in.Version {
			continue
		}
		out = append(out, SelfServiceRules{Package: in.Package, Version: k.Version, Data: k.Data, Err: k.Err})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Package < out[j].Package })
	return out, nil
}

// Catalog returns, for every package name of the stored indexes, the
// candidate this host would install (resolve.Best: newest version that
// suits its OS, architecture, locales and maturities), sorted by name.
// Names with no suitable candidate are left out.
func (e *Engine) Catalog(ctx context.Context) ([]resolve.Candidate, error) {
	cands, _, err := e.candidates(ctx)
	if err != nil {
		return nil, err
	}
	byName := map[string][]resolve.Candidate{}
	for _, c := range cands {
		n := strings.ToLower(strings.TrimSpace(c.Control.Package()))
		byName[n] = append(byName[n], c)
	}
	out := make([]resolve.Candidate, 0, len(byName))
	for n, cs := range byName {
		if best, ok := resolve.Best(cs, version.Request{Name: n}, e.cfg.Host); ok {
			out = append(out, best)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return strings.ToLower(out[i].Control.Package()) < strings.ToLower(out[j].Control.Package())
	})
	return out, nil
}
