package control

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestFormatGolden checks Format against a control written by hand in
// WAPT's ascontrol layout ("%-18s: %s", all default signed attributes even
// empty, multi-line values continued with one space).
func TestFormatGolden(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"wapt_control", "minimal_control"} {
		t.Run(name, func(t *testing.T) {
			want := readFile(t, name)
			c, err := Parse(name, want)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
			if got := c.Format(); !bytes.Equal(got, want) {
				t.Errorf("Format differs from %s:\n got: %q\nwant: %q", name, got, want)
			}
			// The same attributes set in another order format identically.
			keys := c.Keys()
			rand.New(rand.NewPCG(1, 2)).Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
			shuffled := New()
			for _, k := range keys {
				shuffled.Set(strings.ToUpper(k), c.Get(k))
			}
			if got := shuffled.Format(); !bytes.Equal(got, want) {
				t.Errorf("Format of shuffled keys differs from %s:\n got: %q\nwant: %q", name, got, want)
			}
		})
	}

	t.Run("minimal from Set", func(t *testing.T) {
		c := New()
		c.Set("description", "A test package")
		c.Set("depends", "tis-7zip")
		c.Set("priority", "optional")
		c.Set("section", "group")
		c.Set("architecture", "all")
		c.Set("version", "0")
		c.Set("package", "testgroup")
		if got, want := c.Format(), readFile(t, "minimal_control"); !bytes.Equal(got, want) {
			t.Errorf("Format:\n got: %q\nwant: %q", got, want)
		}
	})
}

func TestFormatLayout(t *testing.T) {
	t.Parallel()
	c := New()
	c.Set("sha256", "abc")
	c.Set("x-zeta", "z")
	c.Set("filename", "a_1.wapt")
	c.Set("package", "a")
	c.Set("x-alpha", "")
	c.Set("signature", "")
	c.Set("description", "l1\nl2\n\nl4")
	c.Set("size", "10")
	c.Set("a_very_long_attribute_name", "v")
	got := string(c.Format())
	lines := strings.Split(got, "\n")
	if lines[len(lines)-1] != "" {
		t.Errorf("Format does not end with a newline: %q", got)
	}
	want := map[string]bool{
		"package           : a":         true,
		"description       : l1":        true,
		" l2":                           true,
		" ":                             true, // blank inner line
		" l4":                           true,
		"conflicts         : ":          true, // default signed, absent: empty with trailing space
		"signature         : ":          true, // present though empty
		"x-zeta            : z":         true,
		"x-alpha           : ":          true,
		"a_very_long_attribute_name: v": true,
		"filename          : a_1.wapt":  true,
		"size              : 10":        true,
		"sha256            : abc":       true,
	}
	for l := range want {
		if !slices.Contains(lines, l) {
			t.Errorf("line %q missing from:\n%s", l, got)
		}
	}
	pos := func(prefix string) int {
		return slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, prefix) })
	}
	order := []string{"package ", "description ", "signer_fingerprint", "signature ", "signed_attributes ", "x-zeta ", "x-alpha ", "a_very_long", "filename ", "size ", "sha256 "}
	for i := 1; i < len(order); i++ {
		if pos(order[i-1]) >= pos(order[i]) {
			t.Errorf("%q (line %d) not before %q (line %d)", order[i-1], pos(order[i-1]), order[i], pos(order[i]))
		}
	}
	// Absent attributes that WAPT does not sign are not written.
	c2 := New()
	c2.Set("package", "a")
	if strings.Contains(string(c2.Format()), "signature ") || strings.Contains(string(c2.Format()), "filename") {
		t.Errorf("Format wrote absent signature or index attributes:\n%s", c2.Format())
	}
}

// TestRoundTrip checks Parse(Format(c)) == c for every key of c, and that the
// only added keys are empty default signed attributes.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in string }{
		{"CRLF and continuation", "Package: a\r\nDescription: one\r\n two\r\n\tthree\r\nversion: 1\r\n"},
		{"empty values", "package: a\nconflicts:\nx-empty:\nsignature:\nsize:\n"},
		{"duplicate keys", "package: a\nversion: 1\npackage: b\nversion: 2\n"},
		{"no final newline", "package: a\nversion: 1"},
		{"non-ASCII", "maintainer: Équipe Système\nname: 火狐浏览器\ndescription: Ελληνικά\n Русский\n 日本語 🎉\nclé: valeur"},
		{"blank inner lines", "description: a\n \n  \n b\n \nx-k: \n c\n"},
		{"index attributes", "filename: a.wapt\npackage: a\nmd5sum: 00\nx: y\nsize: 3\n"},
		{"golden", string(readFile(t, "wapt_control"))},
		{"packages block", strings.SplitN(string(readFile(t, "Packages.txt")), "\n\n", 2)[0]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.in)
			out := c.Format()
			back, err := Parse("formatted", out)
			if err != nil {
				t.Fatalf("Parse(Format()): %v\n%s", err, out)
			}
			assertSameControl(t, c, back)
			if again := back.Format(); !bytes.Equal(again, out) {
				t.Errorf("Format is not stable:\n%q\n%q", out, again)
			}
		})
	}
}

// assertSameControl checks that got has every key of want with the same
// value, and otherwise only empty default signed attributes.
func assertSameControl(tb testing.TB, want, got *Control) {
	tb.Helper()
	for _, k := range want.Keys() {
		if !got.Has(k) || got.Get(k) != want.Get(k) {
			tb.Errorf("key %q: got %q (present %v), want %q", k, got.Get(k), got.Has(k), want.Get(k))
		}
	}
	for _, k := range got.Keys() {
		if !want.Has(k) && (!isDefaultSigned(k) || got.Get(k) != "") {
			tb.Errorf("extra key %q = %q", k, got.Get(k))
		}
	}
}
