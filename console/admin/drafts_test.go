package admin

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wapt-go/wapt/agent/engine"
)

func TestNewLoadSaveDraft(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d, err := NewDraft(dir, "tis-demo")
	if err != nil {
		t.Fatal(err)
	}
	if d.Dir != filepath.Join(dir, "tis-demo") || d.Control.Package() != "tis-demo" || !strings.Contains(d.SetupPy, "def install") {
		t.Fatalf("NewDraft = %+v", d)
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("a new draft does not validate: %v", err)
	}
	if _, err := NewDraft(dir, "tis-demo"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("NewDraft over an existing draft: %v", err)
	}
	if _, err := NewDraft(dir, "../evil"); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewDraft(../evil): %v", err)
	}

	d.Control.Set("version", "2.0-3")
	d.Control.Set("description", "two\nlines")
	d.SetupPy = "def install():\n    pass\n"
	must(t, d.Save())
	l, err := LoadDraft(d.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if l.Control.Get("version") != "2.0-3" || l.Control.Get("description") != "two\nlines" || l.SetupPy != d.SetupPy {
		t.Errorf("LoadDraft after Save = %q %q %q", l.Control.Get("version"), l.Control.Get("description"), l.SetupPy)
	}
	l.SetupPy = ""
	must(t, l.Save())
	if _, err := os.Stat(filepath.Join(d.Dir, "setup.py")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Save with no SetupPy left setup.py: %v", err)
	}
	if _, err := LoadDraft(t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadDraft of a folder without control: %v", err)
	}
}

func TestDraftValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		set     map[string]string
		setup   string
		badKeys []string
	}{
		{"valid", nil, "", nil},
		{"valid with setup.py", nil, "from setuphelpers import *\n\ndef install():\n    run(['true'])\n", nil},
		{"bad version", map[string]string{"version": "1..2"}, "", []string{"version"}},
		{"bad packaging", map[string]string{"version": "1.2-x"}, "", []string{"version"}},
		{"missing version", map[string]string{"version": ""}, "", []string{"version"}},
		{"name with space", map[string]string{"package": "my package"}, "", []string{"package"}},
		{"name with slash", map[string]string{"package": "../x"}, "", []string{"package"}},
		{"name starting with -", map[string]string{"package": "-x"}, "", []string{"package"}},
		{"host name", map[string]string{"package": "host-1.example.lan", "section": "host"}, "", nil},
		{"bad host name", map[string]string{"package": "host 1", "section": "host"}, "", []string{"package"}},
		{"unit name", map[string]string{"package": "OU=room1,DC=example,DC=lan", "section": "unit"}, "", nil},
		{"bad unit name", map[string]string{"package": "room1", "section": "unit"}, "", []string{"package"}},
		{"unknown section", map[string]string{"section": "weird"}, "", []string{"section"}},
		{"unknown architecture", map[string]string{"architecture": "sparc"}, "", []string{"architecture"}},
		{"bad maturity", map[string]string{"maturity": "very unstable!"}, "", []string{"maturity"}},
		{"bad depends", map[string]string{"depends": "firefox(>>1)"}, "", []string{"depends"}},
		{"bad conflicts", map[string]string{"conflicts": "a,b(<)"}, "", []string{"conflicts"}},
		{"depends on itself", map[string]string{"depends": "tis-demo(>=1)"}, "", []string{"depends"}},
		{"script syntax", nil, "def install(:\n    pass\n", []string{"setup.py"}},
		{"script unknown name", nil, "def install():\n    pass\nundefined_helper()\n", []string{"setup.py"}},
		{"several", map[string]string{"version": "x..", "architecture": "z"}, "def", []string{"version", "architecture", "setup.py"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := NewDraft(t.TempDir(), "tis-demo")
			must(t, err)
			d.SetupPy = tt.setup
			for k, v := range tt.set {
				d.Control.Set(k, v)
			}
			err = d.Validate()
			if tt.badKeys == nil {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			var fe FieldErrors
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate = %v, want FieldErrors", err)
			}
			for _, k := range tt.badKeys {
				if fe[k] == "" {
					t.Errorf("no reason for %q in %v", k, fe)
				}
			}
			if len(fe) != len(tt.badKeys) {
				t.Errorf("fields = %v, want keys %v", fe, tt.badKeys)
			}
		})
	}
	d := &Draft{Dir: t.TempDir()}
	if err := d.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("Validate without control = %v", err)
	}
}

func TestDraftFiles(t *testing.T) {
	t.Parallel()
	d, err := NewDraft(t.TempDir(), "files")
	must(t, err)
	src := t.TempDir()
	must(t, os.WriteFile(filepath.Join(src, "app.msi"), []byte("msi"), 0o644))
	must(t, os.MkdirAll(filepath.Join(src, "conf", "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "conf", "a.ini"), []byte("a"), 0o644))
	must(t, os.WriteFile(filepath.Join(src, "conf", "sub", "b.ini"), []byte("b"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "setup.py"), []byte("x"), 0o644))
	must(t, os.Symlink(filepath.Join(src, "app.msi"), filepath.Join(src, "link")))

	must(t, d.AddFile(filepath.Join(src, "app.msi")))
	must(t, d.AddFile(filepath.Join(src, "conf")))
	must(t, os.WriteFile(filepath.Join(d.Dir, "old.pyc"), []byte("x"), 0o644))
	for _, bad := range []string{filepath.Join(src, "setup.py"), filepath.Join(src, "link"), filepath.Join(src, "missing")} {
		if err := d.AddFile(bad); err == nil {
			t.Errorf("AddFile(%s) accepted", bad)
		}
	}
	got, err := d.Files()
	must(t, err)
	want := []string{"app.msi", "conf/a.ini", "conf/sub/b.ini"}
	if !slices.Equal(got, want) {
		t.Fatalf("Files = %v, want %v", got, want)
	}
	if fi, err := os.Stat(filepath.Join(d.Dir, "conf", "sub", "b.ini")); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("executable bit not kept: %v %v", fi.Mode(), err)
	}

	outside := filepath.Join(filepath.Dir(d.Dir), "outside.txt")
	must(t, os.WriteFile(outside, []byte("keep"), 0o644))
	for _, rel := range []string{"", ".", "../outside.txt", "conf/../../outside.txt", outside, "WAPT/control", "wapt", "setup.py"} {
		if err := d.RemoveFile(rel); !errors.Is(err, ErrInvalid) {
			t.Errorf("RemoveFile(%q) = %v, want ErrInvalid", rel, err)
		}
	}
	if _, err := os.Stat(outside); err != nil {
		t.Fatalf("a file outside the draft was removed: %v", err)
	}
	if err := d.RemoveFile("nothing-here"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("RemoveFile of a missing file = %v", err)
	}
	must(t, d.RemoveFile("conf/sub"))
	must(t, d.RemoveFile("app.msi"))
	got, err = d.Files()
	must(t, err)
	if !slices.Equal(got, []string{"conf/a.ini"}) {
		t.Errorf("Files after RemoveFile = %v", got)
	}
	if _, err := os.Stat(filepath.Join(d.Dir, "WAPT", "control")); err != nil {
		t.Errorf("control gone: %v", err)
	}
}

func TestCheckScript(t *testing.T) {
	t.Parallel()
	d, err := NewDraft(t.TempDir(), "preview")
	must(t, err)
	must(t, os.WriteFile(filepath.Join(d.Dir, "payload.txt"), []byte("data"), 0o644))
	target := filepath.Join(t.TempDir(), "target")
	marker := filepath.Join(t.TempDir(), "ran")
	d.SetupPy = `# -*- coding: utf-8 -*-
from setuphelpers import *

def install():
    print('installing ' + control.package)
    run(['touch', ` + pyQuote(marker) + `])
    mkdirs(` + pyQuote(target) + `)
    filecopyto('payload.txt', ` + pyQuote(filepath.Join(target, "payload.txt")) + `)

def audit():
    return 'OK'

def uninstall():
    error('cannot remove')
`
	p := CheckScript(context.Background(), d, "")
	if p.Err != nil {
		t.Fatalf("CheckScript: %v", p.Err)
	}
	want := []string{
		"run(['touch', " + pyQuote(marker) + "])",
		"mkdirs(" + pyQuote(target) + ")",
		"copy(" + pyQuote(filepath.Join(d.Dir, "payload.txt")) + ", " + pyQuote(filepath.Join(target, "payload.txt")) + ")",
	}
	if !slices.Equal(p.Calls, want) {
		t.Errorf("Calls =\n%q\nwant\n%q", p.Calls, want)
	}
	if p.Output != "installing preview\n" {
		t.Errorf("Output = %q", p.Output)
	}
	for _, f := range []string{marker, target} {
		if _, err := os.Stat(f); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the dry run created %s", f)
		}
	}

	tests := []struct {
		hook string
		want error
		line bool
	}{
		{"audit", nil, false},
		{"uninstall", engine.ErrScript, true},
		{"session_setup", engine.ErrNoSuchHook, false},
		{"rm -rf", ErrInvalid, false},
	}
	for _, tt := range tests {
		p := CheckScript(context.Background(), d, tt.hook)
		if !errors.Is(p.Err, tt.want) || (tt.want == nil) != (p.Err == nil) {
			t.Errorf("CheckScript(%s).Err = %v, want %v", tt.hook, p.Err, tt.want)
		}
		if tt.line && !strings.Contains(p.Err.Error(), "setup.py:14") {
			t.Errorf("CheckScript(%s).Err = %v, want the line", tt.hook, p.Err)
		}
	}
	if p := CheckScript(context.Background(), &Draft{Dir: d.Dir, Control: d.Control}, ""); !errors.Is(p.Err, ErrInvalid) {
		t.Errorf("CheckScript without setup.py: %v", p.Err)
	}
	d.SetupPy = "def install():\n    while True:\n        pass\n"
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if p := CheckScript(ctx, d, ""); p.Err == nil {
		t.Error("an endless loop with a cancelled context succeeded")
	}
}
