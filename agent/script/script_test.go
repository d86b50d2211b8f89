package script

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wapt-go/wapt/agent/engine"
	"github.com/wapt-go/wapt/shared/control"
)

var _ engine.Scripts = (*Runner)(nil)

func testControl(tb testing.TB) *control.Control {
	tb.Helper()
	c := control.New()
	c.Set("package", "tis-demo")
	c.Set("version", "1.2.3-4")
	return c
}

func request(tb testing.TB, src, hook string) engine.ScriptRequest {
	tb.Helper()
	return engine.ScriptRequest{
		Source: []byte(src), Filename: "tis-demo/setup.py", Hook: hook, Control: testControl(tb),
		Params: map[string]string{"lang": "fr"}, PersistentDir: "/persist", User: "bob", WorkDir: tb.TempDir(),
	}
}

func writeFile(tb testing.TB, path, data string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		tb.Fatal(err)
	}
}

const waptSetup = `# -*- coding: utf-8 -*-
from setuphelpers import *
import os, shutil
from os.path import join as pjoin

uninstallkey = []

def install():
    print(u'installing %s %s' % (control.package, control.version))
    target = params.get('target')
    mkdirs(target)
    filecopyto('data/readme.txt', target)
    copytree2('tree', makepath(target, 'tree'))
    shutil.copy('data/readme.txt', pjoin(target, 'copy.txt'))
    out = run('echo hello; echo err >&2')
    if 'hello' not in out:
        error('no hello')
    uninstallkey.append('tis-demo-key')
    if control.get('missing', 'dflt') is not 'dflt':
        error('control.get default')
    if not isfile(os.path.join(target, 'readme.txt')):
        error('not copied')
    return 'done'
`

func TestWAPTSetup(t *testing.T) {
	req := request(t, waptSetup, "install")
	target := filepath.Join(t.TempDir(), "target")
	req.Params = map[string]string{"target": target}
	writeFile(t, filepath.Join(req.WorkDir, "data/readme.txt"), "hi")
	writeFile(t, filepath.Join(req.WorkDir, "tree/a/b.txt"), "b")
	var live bytes.Buffer
	req.Output = &live
	res, err := New(Config{Logf: t.Logf}).Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Return != "done" {
		t.Errorf("Return = %q", res.Return)
	}
	if !reflect.DeepEqual(res.UninstallKeys, []string{"tis-demo-key"}) {
		t.Errorf("UninstallKeys = %q", res.UninstallKeys)
	}
	if res.Output != "installing tis-demo 1.2.3-4\n" || live.String() != res.Output {
		t.Errorf("Output = %q, live %q", res.Output, live.String())
	}
	for _, f := range []string{"readme.txt", "copy.txt", "tree/a/b.txt"} {
		if _, err := os.Stat(filepath.Join(target, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestDialect(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"while", "def audit():\n    i = 0\n    while i < 5:\n        i += 1\n    return str(i)\n", "5"},
		{"recursion", "def fact(n):\n    return 1 if n <= 1 else n * fact(n - 1)\ndef audit():\n    return str(fact(10))\n", "3628800"},
		{"set", "def audit():\n    return str(len(set([1, 2, 2, 3])))\n", "3"},
		{"lambda", "f = lambda x: x * 2\ndef audit():\n    return str(f(21))\n", "42"},
		{"global reassign", "x = 1\nx = 2\nif x == 2:\n    y = 'OK'\ndef audit():\n    return y\n", "OK"},
		{"is None", "def audit():\n    v = None\n    if v is None and 1 is not 2:\n        return 'OK'\n", "OK"},
		{"raise rewrite", "def audit():\n    return 'OK'\ndef install():\n    raise Exception('boom')\n", "OK"},
		{"json and re", "import json, re\ndef audit():\n    d = json.loads('{\"a\": [1]}')\n    m = re.match(r'(\\d+)\\.(\\d+)', '12.5x')\n    return json.dumps(d) + m.group(2)\n", `{"a":[1]}5`},
		{"multi-line import", "from os.path import (join,\n    basename)\nimport sys, platform\ndef audit():\n    return basename(join('a', 'b.txt')) + sys.platform\n", "b.txt" + sysPlatformForTest()},
		{"docstring with try", "def audit():\n    \"\"\"try:\n    import foo\n    \"\"\"\n    return 'OK'\n", "OK"},
		{"global uninstallkey", "def install():\n    global uninstallkey\n    uninstallkey.append('k')\ndef audit():\n    return 'OK'\n", "OK"},
		{"no return", "def audit():\n    pass\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := New(Config{}).Run(context.Background(), request(t, tt.src, "audit"))
			if err != nil {
				t.Fatal(err)
			}
			if res.Return != tt.want {
				t.Errorf("Return = %q, want %q", res.Return, tt.want)
			}
		})
	}
}

func sysPlatformForTest() string {
	if runtime.GOOS == "windows" {
		return "win32"
	}
	return runtime.GOOS
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, src, hook string
		line            int
		msg             string
		is              error
	}{
		{"error()", "def install():\n    x = 1\n    error('package is broken')\n", "install", 3, "package is broken", engine.ErrScript},
		{"failing run", "def install():\n    run('exit 3')\n", "install", 2, "exit code 3", engine.ErrScript},
		{"run accepts", "def install():\n    run('exit 3', accept_returncodes=[0, 3])\n    run(['false'])\n", "install", 3, "exit code 1", engine.ErrScript},
		{"raise", "def install():\n    raise Exception('bad %s' % 'thing')\n", "install", 2, "bad thing", engine.ErrScript},
		{"missing hook", "def install():\n    pass\n", "audit", 0, "", engine.ErrNoSuchHook},
		{"unknown import", "import os\nimport requests\n", "install", 2, `unknown module "requests"`, engine.ErrScript},
		{"unknown helper", "from setuphelpers import wgets\n", "install", 1, "setuphelpers.wgets is not available", engine.ErrScript},
		{"try", "def install():\n    try:\n        pass\n    except:\n        pass\n", "install", 2, `unsupported Python construct "try"`, engine.ErrScript},
		{"class", "x = 1\nclass Foo(object):\n    pass\n", "install", 2, `unsupported Python construct "class"`, engine.ErrScript},
		{"with", "def install():\n    with open('x') as f:\n        pass\n", "install", 2, `unsupported Python construct "with"`, engine.ErrScript},
		{"global", "x = 1\ndef install():\n    global x\n    x = 2\n", "install", 3, `unsupported Python construct "global"`, engine.ErrScript},
		{"bare raise", "def install():\n    raise\n", "install", 2, `unsupported Python construct "raise"`, engine.ErrScript},
		{"f-string", "def install():\n    print(f'{x}')\n", "install", 2, "f-string", engine.ErrScript},
		{"py2 print", "def install():\n    print 'x'\n", "install", 2, `"print" statement`, engine.ErrScript},
		{"syntax", "def install(:\n", "install", 1, "", engine.ErrScript},
		{"undefined", "def install():\n    foo()\n", "install", 2, "undefined: foo", engine.ErrScript},
		{"top-level failure", "x = 1\nerror('at load')\n", "install", 2, "at load", engine.ErrScript},
		{"other os", "def install():\n    install_msi_if_needed('x.msi')\n", "install", 2, "not available on", engine.ErrScript},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{}).Run(context.Background(), request(t, tt.src, tt.hook))
			if !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want %v", err, tt.is)
			}
			if tt.is != engine.ErrScript {
				return
			}
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("err %T is not *Error", err)
			}
			if se.Line != tt.line || !strings.Contains(se.Msg, tt.msg) {
				t.Errorf("got line %d msg %q, want line %d containing %q", se.Line, se.Msg, tt.line, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), "tis-demo/setup.py:") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	loop := "def install():\n    i = 0\n    while True:\n        i += 1\n"
	sleep := "import time\ndef install():\n    time.sleep(3600)\n"
	proc := "def install():\n    run('sleep 3600')\n"
	tests := []struct {
		name  string
		src   string
		cfg   Config
		ctx   func() (context.Context, context.CancelFunc)
		cause error
		line  int
	}{
		{"steps", loop, Config{MaxSteps: 10000}, nil, nil, 4},
		{"timeout", loop, Config{Timeout: 100 * time.Millisecond}, nil, context.DeadlineExceeded, 0},
		{"cancel", loop, Config{}, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled, 0},
		{"sleep cancelled", sleep, Config{Timeout: 100 * time.Millisecond}, nil, context.DeadlineExceeded, 3},
		{"process killed", proc, Config{Timeout: 200 * time.Millisecond}, nil, context.DeadlineExceeded, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			if tt.ctx != nil {
				ctx, cancel = tt.ctx()
			}
			defer cancel()
			start := time.Now()
			_, err := New(tt.cfg).Run(ctx, request(t, tt.src, "install"))
			if !errors.Is(err, engine.ErrScript) {
				t.Fatalf("err = %v", err)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("err = %v, want cause %v", err, tt.cause)
			}
			var se *Error
			// A cancelled loop is reported at the last instruction Starlark
			// ran, which may be the loop's jump (attributed to the def line).
			if errors.As(err, &se) && (se.Line == 0 || tt.line != 0 && se.Line != tt.line) {
				t.Errorf("line %d, want %d", se.Line, tt.line)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %s", d)
			}
			t.Log(err)
		})
	}
}

func TestDryRun(t *testing.T) {
	src := `import os, shutil
def install():
    mkdirs('/nonexistent/wapt-dry/dir')
    filecopyto('a.txt', 'b.txt')
    shutil.rmtree('sub')
    remove_file('a.txt')
    out = run('touch should-not-exist')
    run(['rm', '-rf', 'sub'])
    uninstallkey.append('k1')
    if not isfile('a.txt'):
        error('reads must see the real file system')
    print('dry: %s' % WAPT.dry_run)
`
	req := request(t, src, "install")
	req.DryRun = true
	writeFile(t, filepath.Join(req.WorkDir, "a.txt"), "a")
	writeFile(t, filepath.Join(req.WorkDir, "sub/x"), "x")
	res, err := New(Config{}).Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	w := req.WorkDir
	want := []engine.Call{
		{Name: "mkdirs", Args: []string{"/nonexistent/wapt-dry/dir"}},
		{Name: "copy", Args: []string{filepath.Join(w, "a.txt"), filepath.Join(w, "b.txt")}},
		{Name: "rmtree", Args: []string{filepath.Join(w, "sub")}},
		{Name: "remove", Args: []string{filepath.Join(w, "a.txt")}},
		{Name: "run", Args: []string{"/bin/sh", "-c", "touch should-not-exist"}},
		{Name: "run", Args: []string{"rm", "-rf", "sub"}},
	}
	if !reflect.DeepEqual(res.Calls, want) {
		t.Errorf("Calls =\n%q\nwant\n%q", res.Calls, want)
	}
	if res.Output != "dry: True\n" || !reflect.DeepEqual(res.UninstallKeys, []string{"k1"}) {
		t.Errorf("Output %q keys %q", res.Output, res.UninstallKeys)
	}
	for _, f := range []string{"a.txt", "sub/x"} {
		if _, err := os.Stat(filepath.Join(w, f)); err != nil {
			t.Errorf("dry run touched %s: %v", f, err)
		}
	}
	for _, f := range []string{"b.txt", "should-not-exist"} {
		if _, err := os.Stat(filepath.Join(w, f)); err == nil {
			t.Errorf("dry run created %s", f)
		}
	}
}

func TestUninstallKeyTopLevel(t *testing.T) {
	src := "uninstallkey = ['pre']\ndef install():\n    uninstallkey.append('added')\n    uninstallkey.extend(['x'])\n"
	res, err := New(Config{}).Run(context.Background(), request(t, src, "install"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"pre", "added", "x"}; !reflect.DeepEqual(res.UninstallKeys, want) {
		t.Errorf("UninstallKeys = %q, want %q", res.UninstallKeys, want)
	}
}

func TestOutputBounded(t *testing.T) {
	src := "def install():\n    for i in range(3000):\n        print('x' * 1000)\n    print('last')\n"
	res, err := New(Config{}).Run(context.Background(), request(t, src, "install"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Output) > maxOutput+8 || !strings.HasSuffix(res.Output, "last\n") {
		t.Errorf("len %d, tail %q", len(res.Output), res.Output[len(res.Output)-10:])
	}
}

// fakeSystem records runs and answers them with fixed results.
type fakeSystem struct {
	OS
	runs [][]string
}

func (f *fakeSystem) Run(_ context.Context, argv []string, _ RunOptions) (string, int, error) {
	f.runs = append(f.runs, argv)
	return "fake output", 0, nil
}

func TestInjectedSystem(t *testing.T) {
	sys := &fakeSystem{}
	res, err := New(Config{System: sys}).Run(context.Background(), request(t, "def install():\n    return run(['anything', 'x'])\n", "install"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Return != "fake output" || !reflect.DeepEqual(sys.runs, [][]string{{"anything", "x"}}) {
		t.Errorf("Return %q runs %q", res.Return, sys.runs)
	}
}

func TestInstallDeb(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	for _, tool := range []string{"dpkg", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	const name = "wapt-go-script-test"
	build := t.TempDir()
	writeFile(t, filepath.Join(build, "DEBIAN/control"), "Package: "+name+"\nVersion: 1.0\nArchitecture: all\nMaintainer: test <t@example.com>\nDescription: wapt script test\n")
	writeFile(t, filepath.Join(build, "usr/share/"+name+"/hello.txt"), "hello\n")
	req := request(t, `def install():
    install_deb('test.deb')
    if len(installed_softwares(name='`+name+`')) != 1:
        error('not listed')
def uninstall():
    for k in uninstallkey:
        print(k)
    remove_deb('`+name+`')
`, "install")
	if out, err := exec.Command("dpkg-deb", "--build", "--root-owner-group", build, filepath.Join(req.WorkDir, "test.deb")).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("dpkg", "--purge", name).Run() })
	r := New(Config{Logf: t.Logf})
	res, err := r.Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.UninstallKeys, []string{name}) {
		t.Errorf("UninstallKeys = %q", res.UninstallKeys)
	}
	if _, err := os.Stat("/usr/share/" + name + "/hello.txt"); err != nil {
		t.Error(err)
	}
	req.Hook = "uninstall"
	if _, err := r.Run(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/usr/share/" + name + "/hello.txt"); err == nil {
		t.Error("still installed after remove_deb")
	}
}
