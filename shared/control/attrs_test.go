package control

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wapt-go/wapt/shared/version"
)

const validControl = "package: tis-app\nversion: 1.2-3\narchitecture: x64\nsection: base\npriority: optional\n"

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		bad  []string // fields reported, sorted
	}{
		{"valid", validControl, nil},
		{"valid, case-insensitive section and arch", "package: a\nversion: 1\narchitecture: ARM64\nsection: Host\npriority: optional\n", nil},
		{"valid with extras", validControl + "depends: a, b(>=1.2)\nconflicts:\ninstalled_size: 42\nsize:\ndescription: a\n b\n", nil},
		{"empty", "", []string{"architecture", "package", "priority", "section", "version"}},
		{"all empty", "package:\nversion:\narchitecture:\nsection:\npriority:\n", []string{"architecture", "package", "priority", "section", "version"}},
		{"bad version", strings.Replace(validControl, "1.2-3", "1..2", 1), []string{"version"}},
		{"unknown section", strings.Replace(validControl, "section: base", "section: weird", 1), []string{"section"}},
		{"unknown architecture", strings.Replace(validControl, "x64", "sparc", 1), []string{"architecture"}},
		{"every bad field at once", "package: a\nversion: x-y\narchitecture: mips\nsection: nope\ndepends: a(>=)\nconflicts: (\ninstalled_size: big\n",
			[]string{"architecture", "conflicts", "depends", "installed_size", "priority", "section", "version"}},
		{"multi-line package", validControl + "package: a\n b\n", []string{"package"}},
		{"negative size", validControl + "size: -1\n", []string{"size"}},
		{"blank inner line", validControl + "description: a\n \n b\n", []string{"description"}},
		{"blank final line", validControl + "description: a\n \n", []string{"description"}},
		{"control character", validControl + "description: a\x1fb\n", []string{"description"}},
		{"line separator", validControl + "description: a\u2028b\n", []string{"description"}},
		{"carriage return", validControl + "description: a\rb\n", []string{"description"}},
		{"control character in key", validControl + "x\x01y: v\n", []string{"x\x01y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.in)
			err := c.Validate()
			if tt.bad == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate = %v, want *ValidationError wrapping ErrInvalid", err)
			}
			var got []string
			for k := range ve.Fields {
				got = append(got, k)
			}
			slices.Sort(got)
			if !reflect.DeepEqual(got, tt.bad) {
				t.Errorf("bad fields = %q, want %q (%v)", got, tt.bad, err)
			}
			if ve.File != "test" || !strings.HasPrefix(err.Error(), "test: invalid control: ") {
				t.Errorf("error %q does not name the file", err)
			}
			for _, k := range tt.bad {
				if !strings.Contains(err.Error(), k+": ") {
					t.Errorf("error %q does not list %q", err, k)
				}
			}
		})
	}

	t.Run("in-memory and block", func(t *testing.T) {
		c := New()
		c.Set("package", "a")
		if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), "control: ") {
			t.Errorf("Validate = %v, want an error starting with control:", err)
		}
		err := ParseBlocks("Packages", []byte(validControl+"\n"+"package: b\n"), func(line int, c *Control) error {
			if line == 1 {
				return nil
			}
			var ve *ValidationError
			if err := c.Validate(); !errors.As(err, &ve) || ve.Line != 7 || !strings.HasPrefix(err.Error(), "Packages:7: ") {
				t.Errorf("Validate of block at line %d = %v, want *ValidationError at Packages:7", line, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestVersionAndSection(t *testing.T) {
	t.Parallel()
	c := mustParse(t, validControl)
	v, err := c.Version()
	if err != nil || v.String() != "1.2-3" || v.Packaging() != 3 {
		t.Errorf("Version() = %v, %v", v, err)
	}
	c.Set("version", "1..2")
	if _, err := c.Version(); !errors.Is(err, version.ErrInvalid) || !strings.HasPrefix(err.Error(), "test: version: ") {
		t.Errorf("Version() of a bad version: %v", err)
	}
	tests := []struct{ in, want string }{{"", "base"}, {"  ", "base"}, {"Group", "group"}, {" HOST ", "host"}}
	for _, tt := range tests {
		c.Set("section", tt.in)
		if got := c.Section(); got != tt.want {
			t.Errorf("Section() with %q = %q, want %q", tt.in, got, tt.want)
		}
	}
	c.Del("section")
	if got := c.Section(); got != "base" {
		t.Errorf("Section() without section = %q", got)
	}
}

func TestDependsConflicts(t *testing.T) {
	t.Parallel()
	c := mustParse(t, validControl+"depends: a, b (>=1.2),, c(=3-1)\n")
	deps, err := c.Depends()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range deps {
		got = append(got, r.String())
	}
	if want := []string{"a", "b(>=1.2)", "c(=3-1)"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Depends() = %q, want %q", got, want)
	}
	if cf, err := c.Conflicts(); err != nil || cf != nil {
		t.Errorf("Conflicts() without conflicts = %v, %v", cf, err)
	}
	c.Set("conflicts", "x(>=)")
	if _, err := c.Conflicts(); !errors.Is(err, version.ErrInvalid) || !strings.Contains(err.Error(), "conflicts") {
		t.Errorf("Conflicts() with a bad item = %v", err)
	}
}

func TestInt(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "installed_size: 262144000\nsize: \nbad: 12x\nneg: -5\nhuge: 99999999999999999999\n")
	tests := []struct {
		key  string
		want int64
		ok   bool
	}{
		{"installed_size", 262144000, true},
		{"size", 0, false},
		{"absent", 0, false},
		{"bad", 0, false},
		{"neg", -5, true},
		{"huge", 0, false},
	}
	for _, tt := range tests {
		if n, ok := c.Int(tt.key); ok != tt.ok || (ok && n != tt.want) {
			t.Errorf("Int(%q) = %d, %v; want %d, %v", tt.key, n, ok, tt.want, tt.ok)
		}
	}
}

func TestFilename(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		attrs string
		want  string
	}{
		{"base full", "package: tis-firefox\nversion: 115.6-12\narchitecture: x64\nmaturity: PROD\nlocale: fr", "tis-firefox_115.6-12_x64_PROD_fr.wapt"},
		{"all and empty dropped", "package: tis-7zip\nversion: 23.01-5\narchitecture: all\nmaturity:\nlocale: all", "tis-7zip_23.01-5.wapt"},
		{"ALL dropped", "package: a\nversion: 1\narchitecture: ALL", "a_1.wapt"},
		{"locale list", "package: a\nversion: 1\narchitecture: x86\nlocale: fr, en,,de", "a_1_x86_fr-en-de.wapt"},
		{"maturity only", "package: a\nversion: 1\nmaturity: BETA", "a_1_BETA.wapt"},
		{"host", "package: 1c6e1f6a-7b0a-4b4e-9c0d-7f5e2a0d9e31\nversion: 4\narchitecture: x64\nsection: host\nmaturity: PROD", "1c6e1f6a-7b0a-4b4e-9c0d-7f5e2a0d9e31.wapt"},
		{"host fqdn", "package: pc1.example.lan\nversion: 4\nsection: HOST", "pc1.example.lan.wapt"},
		{"group keeps version", "package: grp-office\nversion: 3\narchitecture: all\nsection: group", "grp-office_3.wapt"},
		{"unit with unsafe name", "package: OU=room1,OU=prod,DC=example,DC=lan\nversion: 2\nsection: unit", "03379a663f3c5f742787f7fad790c1d7_2.wapt"},
		{"space in name", "package: my app\nversion: 1", "8c2eeeb1fbd311bae70f792d24b18205_1.wapt"},
		{"non-ASCII letters are safe", "package: café-日本\nversion: 1", "café-日本_1.wapt"},
		{"waptupgrade keeps all", "package: waptagent-waptupgrade\nversion: 2.5-1\narchitecture: all\nmaturity: PROD", "waptagent-waptupgrade_2.5-1_all_PROD.wapt"},
		{"unsafe maturity chars removed", "package: a\nversion: 1\nmaturity: PR/O:D", "a_1_PROD.wapt"},
		{"dot dot", "package: ..\nversion: 1", "__1.wapt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustParse(t, tt.attrs).Filename(); got != tt.want {
				t.Errorf("Filename() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestControlMethods(t *testing.T) {
	t.Parallel()
	var zero Control
	if zero.Has("a") || zero.Get("a") != "" || zero.Keys() != nil {
		t.Error("zero Control is not empty")
	}
	zero.Set("A", "1")
	if zero.Get("a") != "1" || !zero.Has("A") {
		t.Error("Set on the zero Control did not store the value")
	}
	c := mustParse(t, "b: 2\na: 1\nc: 3\n")
	cl := c.Clone()
	c.Del("A")
	c.Set("b", "x")
	if got := pairs(c); !reflect.DeepEqual(got, []string{"b=x", "c=3"}) {
		t.Errorf("after Del/Set: %q", got)
	}
	if got := pairs(cl); !reflect.DeepEqual(got, []string{"b=2", "a=1", "c=3"}) {
		t.Errorf("Clone changed with the original: %q", got)
	}
	c.Del("absent")
	if cl.Package() != "" || mustParse(t, "package: p").Package() != "p" {
		t.Error("Package() wrong")
	}
	cl.Set("version", "1..2")
	if err := cl.Validate(); err == nil || !strings.HasPrefix(err.Error(), "test: ") {
		t.Errorf("Clone lost the file name: %v", err)
	}
}

func TestAttributeLists(t *testing.T) {
	t.Parallel()
	if len(StandardAttributes) != len(RequiredAttributes)+len(OptionalAttributes)+len(SignatureAttributes) ||
		!slices.Equal(StandardAttributes[:5], RequiredAttributes) || StandardAttributes[len(StandardAttributes)-1] != "signed_attributes" {
		t.Errorf("StandardAttributes = %q", StandardAttributes)
	}
	seen := map[string]bool{}
	for _, k := range slices.Concat(StandardAttributes, IndexAttributes) {
		if seen[k] || k != strings.ToLower(k) {
			t.Errorf("attribute %q duplicated or not lowercase", k)
		}
		seen[k] = true
	}
}
