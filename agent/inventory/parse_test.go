package inventory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"unicode"
	"unicode/utf8"
)

func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func byName(sw []Software) map[string]Software {
	m := map[string]Software{}
	for _, s := range sw {
		m[s.Key] = s
	}
	return m
}

func TestParseDpkg(t *testing.T) {
	t.Parallel()
	sw, err := parseDpkg(readTestdata(t, "dpkg.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got := byName(sw)
	want := map[string]Software{
		"dpkg:amd64":         {Name: "dpkg", Version: "1.21.22", Arch: "amd64", Source: "dpkg", Key: "dpkg:amd64", Publisher: "Dpkg Developers <debian-dpkg@lists.debian.org>"},
		"libc6:i386":         {Name: "libc6", Version: "2.36-9+deb12u14", Arch: "i386", Source: "dpkg", Key: "libc6:i386", Publisher: "GNU Libc Maintainers <debian-glibc@lists.debian.org>"},
		"git:amd64":          {Name: "git", Version: "1:2.39.5-0+deb12u3", Arch: "amd64", Source: "dpkg", Key: "git:amd64", Publisher: "Jonathan Nieder <jrnieder@gmail.com>"},
		"openssl:amd64":      {Name: "openssl", Version: "3.0.19-1~deb12u2", Arch: "amd64", Source: "dpkg", Key: "openssl:amd64", Publisher: "Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>"},
		"fonts-déjàvu:all":   {Name: "fonts-déjàvu", Version: "2.37-6", Arch: "all", Source: "dpkg", Key: "fonts-déjàvu:all", Publisher: "Jérôme Lübeck <jl@example.org>"},
		"latin1-maint:amd64": {Name: "latin1-maint", Version: "0.9-1", Arch: "amd64", Source: "dpkg", Key: "latin1-maint:amd64", Publisher: "Fran\uFFFDois Caf\uFFFD <fc@example.org>"},
		"ctrl-chars:amd64":   {Name: "ctrl-chars", Version: "1.0-1", Arch: "amd64", Source: "dpkg", Key: "ctrl-chars:amd64", Publisher: "Bell[31m Red <r@example.org>"},
		"tab-in-maint:amd64": {Name: "tab-in-maint", Version: "2.0", Arch: "amd64", Source: "dpkg", Key: "tab-in-maint:amd64", Publisher: "Some One <so@example.org>"},
		"no-maint:arm64":     {Name: "no-maint", Version: "1.2.3", Arch: "arm64", Source: "dpkg", Key: "no-maint:arm64"},
	}
	for k, w := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s missing", k)
		} else if g != w {
			t.Errorf("%s:\n got %+v\nwant %+v", k, g, w)
		}
	}
	for _, gone := range []string{"linux-image-6.1.0-18-amd64:amd64", "nginx-common:all", "half-configured:amd64", "unknown-pkg"} {
		if _, ok := got[gone]; ok {
			t.Errorf("%s kept, want dropped (not installed)", gone)
		}
	}
	if len(sw) != 16 {
		t.Errorf("got %d entries, want 16", len(sw))
	}
}

func TestParseDpkgTable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    string
		names []string
	}{
		{"empty", "", nil},
		{"installed", "a\t1\tamd64\tii \tM\n", []string{"a"}},
		{"held", "a\t1\tamd64\thi \tM\n", []string{"a"}},
		{"removed config", "a\t1\tamd64\trc \tM\n", nil},
		{"not installed", "a\t\t\tun \t\n", nil},
		{"unpacked only", "a\t1\tamd64\tiU \tM\n", nil},
		{"short line", "a\t1\tamd64\n", nil},
		{"no trailing newline", "a\t1\tamd64\tii", []string{"a"}},
		{"crlf", "a\t1\tamd64\tii \tM\r\nb\t2\tall\tii \tN\r\n", []string{"a", "b"}},
		{"nul bytes", "a\x00\t1\tamd64\tii \tM\n", []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sw, err := parseDpkg([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range sw {
				names = append(names, s.Name)
			}
			if !reflect.DeepEqual(names, tt.names) {
				t.Errorf("got %q, want %q", names, tt.names)
			}
		})
	}
}

func TestParseDpkgBounded(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	for i := range maxSoftware + 1 {
		fmt.Fprintf(&b, "p%d\t1\tamd64\tii \tM\n", i)
	}
	if _, err := parseDpkg(b.Bytes()); !errors.Is(err, errTooMany) {
		t.Fatalf("err = %v, want errTooMany", err)
	}
	long := strings.Repeat("é", maxField)
	sw, _ := parseDpkg([]byte("x\t1\tamd64\tii \t" + long + "\n"))
	if len(sw) != 1 || len(sw[0].Publisher) > maxField || !utf8.ValidString(sw[0].Publisher) {
		t.Fatalf("long field not bounded: %d bytes", len(sw[0].Publisher))
	}
}

func TestParseRpm(t *testing.T) {
	t.Parallel()
	sw, err := parseRpm(readTestdata(t, "rpm.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got := byName(sw)
	if _, ok := got["gpg-pubkey-fd431d51-4ae0493b"]; ok {
		t.Error("gpg-pubkey kept")
	}
	want := map[string]Software{
		"openssl-3.0.7-27.el9.x86_64":                  {Name: "openssl", Version: "3.0.7-27.el9", Arch: "x86_64", Publisher: "Red Hat, Inc.", Source: "rpm", Key: "openssl-3.0.7-27.el9.x86_64", InstallDate: "2024-05-29"},
		"tzdata-2024a-1.el9.noarch":                    {Name: "tzdata", Version: "2024a-1.el9", Arch: "noarch", Publisher: "Red Hat, Inc.", Source: "rpm", Key: "tzdata-2024a-1.el9.noarch", InstallDate: "2024-05-29"},
		"kernel-5.14.0-427.20.1.el9_4.x86_64":          {Name: "kernel", Version: "5.14.0-427.20.1.el9_4", Arch: "x86_64", Publisher: "Red Hat, Inc.", Source: "rpm", Key: "kernel-5.14.0-427.20.1.el9_4.x86_64", InstallDate: "2024-06-10"},
		"local-build-0.1-1.x86_64":                     {Name: "local-build", Version: "0.1-1", Arch: "x86_64", Source: "rpm", Key: "local-build-0.1-1.x86_64"},
		"google-chrome-stable-126.0.6478.126-1.x86_64": {Name: "google-chrome-stable", Version: "126.0.6478.126-1", Arch: "x86_64", Publisher: "Google Inc.", Source: "rpm", Key: "google-chrome-stable-126.0.6478.126-1.x86_64", InstallDate: "2024-06-21"},
	}
	for k, w := range want {
		if g := got[k]; g != w {
			t.Errorf("%s:\n got %+v\nwant %+v", k, g, w)
		}
	}
	if len(sw) != 8 {
		t.Errorf("got %d entries, want 8", len(sw))
	}
}

func TestParseIoreg(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want dmiInfo
	}{
		{"ioreg_arm64.txt", dmiInfo{
			Manufacturer: "Apple Inc.", Model: "MacBookPro18,1", Family: "MacBook Pro (16-inch, 2021)",
			Serial: "C02F5000Q0NF", UUID: "8f3c2a4b-1d2e-5f60-8a9b-0c1d2e3f4a5b", BoardName: "J316s",
			rawUUID: "8F3C2A4B-1D2E-5F60-8A9B-0C1D2E3F4A5B",
		}},
		{"ioreg_intel.txt", dmiInfo{
			Manufacturer: "Apple Inc.", Model: "MacBookPro16,1", Family: "MacBookPro16,1",
			Serial: "C02ZK0ABMD6T", UUID: "5b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", BoardName: "Mac-E1008331FDC96864",
			rawUUID: "5B1C2D3E-4F50-6172-8394-A5B6C7D8E9F0",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			if got := dmiFromIoreg(parseIoreg(readTestdata(t, tt.file))); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
	m := parseIoreg([]byte(`"a" = <"x","y">` + "\n" + `| "b" = Yes` + "\n" + `"a" = "dup"` + "\n\"unterminated\n\"c\" <nothing>\n"))
	if want := map[string]string{"a": "x", "b": "Yes"}; !reflect.DeepEqual(m, want) {
		t.Errorf("got %q, want %q", m, want)
	}
}

func TestParsePlist(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr error
	}{
		{"firefox", string(readTestdata(t, "Applications/Firefox.app/Contents/Info.plist")), nil, nil},
		{"empty dict", `<plist version="1.0"><dict/></plist>`, map[string]string{}, nil},
		{"self-closing string", `<plist><dict><key>A</key><string/><key>B</key><integer>7</integer></dict></plist>`, map[string]string{"A": "", "B": "7"}, nil},
		{"nested skipped", `<plist><dict><key>X</key><dict><key>A</key><string>in</string></dict><key>A</key><string>out</string></dict></plist>`, map[string]string{"A": "out"}, nil},
		{"value without key", `<plist><dict><string>v</string><key>K</key><true/><key>L</key><string>w</string></dict></plist>`, map[string]string{"L": "w"}, nil},
		{"binary", "bplist00\x01\x02", nil, errBinaryPlist},
		{"not xml", "hello", nil, errAny},
		{"truncated", `<plist><dict><key>A</key><string>x`, nil, errAny},
		{"top-level array", `<plist><array/></plist>`, nil, errAny},
		{"element in value", `<plist><dict><key>A</key><string><b/></string></dict></plist>`, nil, errAny},
		{"not a plist", `<html><body/></html>`, nil, errAny},
		{"deep nesting", "<plist><dict><key>A</key>" + strings.Repeat("<array>", 5000) + strings.Repeat("</array>", 5000) + "<key>B</key><string>b</string></dict></plist>", map[string]string{"B": "b"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parsePlist([]byte(tt.in))
			switch {
			case tt.wantErr == errAny:
				if err == nil {
					t.Fatalf("no error, got %q", got)
				}
				return
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if tt.want == nil { // firefox: check the keys that matter
				s := appFromPlist(got, "Firefox.app")
				want := Software{Name: "Firefox", Version: "128.0.3", Key: "org.mozilla.firefox", Source: "app-bundle"}
				if s != want {
					t.Errorf("got %+v, want %+v", s, want)
				}
				if got["NSHumanReadableCopyright"] != "© Firefox & Mozilla Developers" {
					t.Errorf("entity not decoded: %q", got["NSHumanReadableCopyright"])
				}
				if _, ok := got["CFBundleTypeName"]; ok {
					t.Error("nested key leaked to the top level")
				}
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// errAny marks a test case that wants some error.
var errAny = errors.New("any error")

// fakeRunner answers commands from a table keyed by the command line;
// others are missing.
type fakeRunner map[string]struct {
	out []byte
	err error
}

func (f fakeRunner) run(_ context.Context, name string, args ...string) ([]byte, error) {
	r, ok := f[strings.Join(append([]string{name}, args...), " ")]
	if !ok {
		return nil, fmt.Errorf("exec: %q: %w", name, errNotFoundForTest)
	}
	return r.out, r.err
}

var errNotFoundForTest = errors.New("executable file not found in $PATH")

func TestAppBundles(t *testing.T) {
	t.Parallel()
	fsys := os.DirFS("testdata")
	converted := `<?xml version="1.0"?><plist><dict><key>CFBundleName</key><string>Binary</string>` +
		`<key>CFBundleShortVersionString</key><string>3.1</string><key>CFBundleIdentifier</key><string>com.example.binary</string></dict></plist>`
	run := fakeRunner{
		"plutil -convert xml1 -o - /r/Applications/Binary.app/Contents/Info.plist": {out: []byte(converted)},
	}
	sw, err := appBundles(t.Context(), fsys, "/r", run.run)
	if err != nil {
		t.Fatal(err)
	}
	want := []Software{
		{Name: "Binary", Version: "3.1", Key: "com.example.binary", Source: "app-bundle"},
		{Name: "Broken", Key: "Broken.app", Source: "app-bundle", Note: "Info.plist unreadable: open Applications/Broken.app/Contents/Info.plist: "},
		{Name: "Firefox", Version: "128.0.3", Key: "org.mozilla.firefox", Source: "app-bundle"},
		{Name: "Terminal", Version: "2.14", Key: "com.apple.Terminal", Source: "app-bundle"},
	}
	sw = sortSoftware(sw)
	if len(sw) == len(want) && strings.HasPrefix(sw[1].Note, want[1].Note) {
		sw[1].Note = want[1].Note // the OS error text varies
	}
	if !reflect.DeepEqual(sw, want) {
		t.Errorf("\n got %+v\nwant %+v", sw, want)
	}

	// plutil missing: the binary bundle is still listed, with a note.
	sw, err = appBundles(t.Context(), fsys, "/r", fakeRunner{}.run)
	if err != nil {
		t.Fatal(err)
	}
	b := byName(sw)["Binary.app"]
	if b.Name != "Binary" || !strings.Contains(b.Note, "binary Info.plist not converted") {
		t.Errorf("binary bundle = %+v", b)
	}
	if _, err := appBundles(t.Context(), fstest.MapFS{}, "/", fakeRunner{}.run); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("no /Applications: err = %v", err)
	}
}

func TestPkgutilAndMacSoftware(t *testing.T) {
	t.Parallel()
	run := fakeRunner{
		"pkgutil --pkgs": {out: readTestdata(t, "pkgs.txt")},
		"pkgutil --pkg-info com.microsoft.package.Microsoft_Word.app": {out: readTestdata(t, "pkginfo.txt")},
		"pkgutil --pkg-info com.apple.pkg.CLTools_Executables":        {out: []byte("package-id: com.apple.pkg.CLTools_Executables\nversion: 15.3.0.0.1.1708646388\nvolume: /\nlocation: /\ninstall-time: 1710000000\n")},
		"pkgutil --pkg-info com.apple.pkg.CLTools_SDK_macOS14":        {err: errors.New("exit status 1: No receipt")},
		"pkgutil --pkg-info org.python.Python.PythonFramework-3.12":   {out: []byte("garbage")},
	}
	sw, err := macSoftware(t.Context(), os.DirFS("testdata"), "/", run.run)
	if err != nil {
		t.Fatal(err)
	}
	got := byName(sw)
	want := map[string]Software{
		"com.microsoft.package.Microsoft_Word.app": {Name: "com.microsoft.package.Microsoft_Word.app", Version: "16.86.24060916", Key: "com.microsoft.package.Microsoft_Word.app", Source: "pkgutil", InstallDate: "2024-06-13"},
		"com.apple.pkg.CLTools_Executables":        {Name: "com.apple.pkg.CLTools_Executables", Version: "15.3.0.0.1.1708646388", Key: "com.apple.pkg.CLTools_Executables", Source: "pkgutil", InstallDate: "2024-03-09"},
		"com.apple.pkg.CLTools_SDK_macOS14":        {Name: "com.apple.pkg.CLTools_SDK_macOS14", Key: "com.apple.pkg.CLTools_SDK_macOS14", Source: "pkgutil", Note: "pkgutil --pkg-info: exit status 1: No receipt"},
		"org.python.Python.PythonFramework-3.12":   {Name: "org.python.Python.PythonFramework-3.12", Key: "org.python.Python.PythonFramework-3.12", Source: "pkgutil"},
		"org.mozilla.firefox":                      {Name: "Firefox", Version: "128.0.3", Key: "org.mozilla.firefox", Source: "app-bundle"},
	}
	for k, w := range want {
		if g := got[k]; g != w {
			t.Errorf("%s:\n got %+v\nwant %+v", k, g, w)
		}
	}
	if len(sw) != 8 {
		t.Errorf("got %d entries, want 8 (4 bundles + 4 receipts)", len(sw))
	}
	// Both sources failing is the section's error.
	if _, err := macSoftware(t.Context(), fstest.MapFS{}, "/", fakeRunner{}.run); err == nil {
		t.Error("no error with no /Applications and no pkgutil")
	}
}

func TestParseWmicOrCim(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want dmiInfo
	}{
		{"cim.txt", dmiInfo{
			Manufacturer: "Dell Inc.", Model: "Latitude 7420", Family: "Latitude", SKU: "0A67", Serial: "4R06JN2",
			UUID: "4c4c4544-0052-3410-8036-b4c04f4a4e32", BIOSVendor: "Dell Inc.", BIOSVersion: "1.31.1", BIOSDate: "2024-01-16",
			BoardVendor: "Dell Inc.", BoardName: "07MHG4", BoardVersion: "A00", BoardSerial: "/4R06JN2/CNCMK0019H00C4/",
			ChassisVendor: "Dell Inc.", ChassisType: "Notebook", ChassisSerial: "4R06JN2", ChassisAssetTag: "IT-004217",
			rawUUID: "4C4C4544-0052-3410-8036-B4C04F4A4E32",
		}},
		{"cim_formatlist.txt", dmiInfo{
			Manufacturer: "VMware, Inc.", Model: "VMware Virtual Platform",
			Serial: "VMware-56 4d 8a 3f 1c 2b 9e 7d-a1 b2 c3 d4 e5 f6 07 18",
			UUID:   "3f8a4d56-2b1c-7d9e-a1b2-c3d4e5f60718", rawUUID: "3F8A4D56-2B1C-7D9E-A1B2-C3D4E5F60718",
		}},
		{"wmic_csproduct.txt", dmiInfo{rawUUID: "03000200-0400-0500-0006-000700080009"}}, // all placeholders
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			recs := parseWmicOrCim(readTestdata(t, tt.file))
			if len(recs) != 1 {
				t.Fatalf("got %d records, want 1: %q", len(recs), recs)
			}
			if got := dmiFromCim(recs[0]); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
	bios := parseWmicOrCim(readTestdata(t, "wmic_bios.txt"))
	want := []map[string]string{{"Manufacturer": "American Megatrends Inc.", "ReleaseDate": "20190315000000.000000+000", "SerialNumber": "Default string", "SMBIOSBIOSVersion": "2401"}}
	if !reflect.DeepEqual(bios, want) {
		t.Errorf("wmic bios (UTF-16 without BOM): got %q", bios)
	}
	wrapped := "Name  : a very long\n        value wrapped\nOther : x\n\nName : second\n"
	if got := parseWmicOrCim([]byte(wrapped)); len(got) != 2 || got[0]["Name"] != "a very longvalue wrapped" || got[1]["Name"] != "second" {
		t.Errorf("wrapped Format-List: got %q", got)
	}
}

func TestSoftwareFromRegistry(t *testing.T) {
	t.Parallel()
	base := regEntry{Key: "{23170F69-40C1-2702-2409-000001000000}", View: "64", NativeArch: "x64", Scope: "machine",
		DisplayName: "7-Zip 24.09 (x64 edition)", DisplayVersion: "24.09.00.0", Publisher: "Igor Pavlov", InstallDate: "20241130", WindowsInstaller: 1}
	tests := []struct {
		name string
		edit func(e *regEntry)
		want Software
		ok   bool
	}{
		{"msi 64-bit", func(*regEntry) {}, Software{Name: "7-Zip 24.09 (x64 edition)", Version: "24.09.00.0", Publisher: "Igor Pavlov", Arch: "x64",
			Source: "msi-registry", Key: "{23170F69-40C1-2702-2409-000001000000}", InstallDate: "2024-11-30", Scope: "machine"}, true},
		{"exe installer 32-bit", func(e *regEntry) {
			*e = regEntry{Key: "Mozilla Firefox 128.0 (x86 fr)", View: "32", NativeArch: "x64", Scope: "machine",
				DisplayName: "Mozilla Firefox (x86 fr)", DisplayVersion: "128.0", Publisher: "Mozilla"}
		}, Software{Name: "Mozilla Firefox (x86 fr)", Version: "128.0", Publisher: "Mozilla", Arch: "x86", Source: "registry",
			Key: "Mozilla Firefox 128.0 (x86 fr)", Scope: "machine"}, true},
		{"per-user", func(e *regEntry) {
			*e = regEntry{Key: "Teams", Scope: "user:S-1-5-21-1-2-3-1001", DisplayName: "Microsoft Teams classic", DisplayVersion: "1.7.00.13456",
				Publisher: "Microsoft Corporation", InstallDate: "2024-02-01"}
		}, Software{Name: "Microsoft Teams classic", Version: "1.7.00.13456", Publisher: "Microsoft Corporation", Source: "registry",
			Key: "Teams", InstallDate: "2024-02-01", Scope: "user:S-1-5-21-1-2-3-1001"}, true},
		{"no display name", func(e *regEntry) { e.DisplayName = "  " }, Software{}, false},
		{"system component", func(e *regEntry) { e.SystemComponent = 1 }, Software{}, false},
		{"update of a product", func(e *regEntry) { e.ParentKeyName = "OfficeXX" }, Software{}, false},
		{"hotfix", func(e *regEntry) { e.ReleaseType = "Security Update" }, Software{}, false},
		{"bad install date", func(e *regEntry) { e.InstallDate = "yesterday"; e.WindowsInstaller = 0 }, Software{Name: "7-Zip 24.09 (x64 edition)",
			Version: "24.09.00.0", Publisher: "Igor Pavlov", Arch: "x64", Source: "registry", Key: "{23170F69-40C1-2702-2409-000001000000}", Scope: "machine"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := base
			tt.edit(&e)
			got, ok := softwareFromRegistry(e)
			if ok != tt.ok || got != tt.want {
				t.Errorf("got %+v %v, want %+v %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// permFS refuses the files in deny with fs.ErrPermission, as sysfs does
// for root-only DMI files.
type permFS struct {
	fs.FS
	deny []string
}

func (p permFS) Open(name string) (fs.File, error) {
	for _, d := range p.deny {
		if d == name {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
		}
	}
	return p.FS.Open(name)
}

func TestReadDMI(t *testing.T) {
	t.Parallel()
	sysfs := os.DirFS("testdata/root/sys/class/dmi/id")
	full := dmiInfo{
		Manufacturer: "LENOVO", Model: "20XWCTO1WW", ProductVersion: "ThinkPad X1 Carbon Gen 9", Family: "ThinkPad X1 Carbon Gen 9",
		SKU: "LENOVO_MT_20XW_BU_Think_FM_ThinkPad X1 Carbon Gen 9", Serial: "PF3ABCDE", UUID: "8e7f2c80-2b4a-11b2-a85c-d1f5e8a0c3b4",
		BIOSVendor: "LENOVO", BIOSVersion: "N32ET86W (1.62 )", BIOSDate: "2024-02-22", BoardVendor: "LENOVO", BoardName: "20XWCTO1WW",
		BoardVersion: "SDK0J40697 WIN", BoardSerial: "L1HF1AB00CD", ChassisVendor: "LENOVO", ChassisType: "Notebook", ChassisSerial: "PF3ABCDE",
		rawUUID: "8e7f2c80-2b4a-11b2-a85c-d1f5e8a0c3b4",
	}
	tests := []struct {
		name    string
		fsys    fs.FS
		want    dmiInfo
		wantErr error
	}{
		{"root", sysfs, full, nil},
		{"not root", permFS{sysfs, []string{"product_serial", "product_uuid", "board_serial", "chassis_serial"}}, func() dmiInfo {
			d := full
			d.Serial, d.UUID, d.rawUUID, d.BoardSerial, d.ChassisSerial = "", "", "", "", ""
			d.Unreadable = []string{"serial", "uuid", "board_serial", "chassis_serial"}
			return d
		}(), nil},
		{"no dmi", fstest.MapFS{}, dmiInfo{}, fs.ErrNotExist},
		{"placeholders", fstest.MapFS{
			"sys_vendor":     {Data: []byte("To Be Filled By O.E.M.\n")},
			"product_name":   {Data: []byte("System Product Name\n")},
			"product_uuid":   {Data: []byte("03000200-0400-0500-0006-000700080009\n")},
			"product_serial": {Data: []byte("Default string\n")},
			"chassis_type":   {Data: []byte("3\n")},
		}, dmiInfo{ChassisType: "Desktop", rawUUID: "03000200-0400-0500-0006-000700080009"}, nil},
		{"oversized file", fstest.MapFS{"sys_vendor": {Data: bytes.Repeat([]byte("A"), maxFileSize+1)}}, dmiInfo{Unreadable: []string{"manufacturer"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := readDMI(tt.fsys)
			if !errors.Is(err, tt.wantErr) || (err != nil) != (tt.wantErr != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestValidUUID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
	}{
		{"8E7F2C80-2B4A-11B2-A85C-D1F5E8A0C3B4", "8e7f2c80-2b4a-11b2-a85c-d1f5e8a0c3b4"},
		{"8e7f2c80-2b4a-11b2-a85c-d1f5e8a0c3b4\n", "8e7f2c80-2b4a-11b2-a85c-d1f5e8a0c3b4"},
		{"{8E7F2C80-2B4A-11B2-A85C-D1F5E8A0C3B4}", "8e7f2c80-2b4a-11b2-a85c-d1f5e8a0c3b4"},
		{"8E7F2C802B4A11B2A85CD1F5E8A0C3B4", "8e7f2c80-2b4a-11b2-a85c-d1f5e8a0c3b4"},
		{"4C4C4544-0052-3410-8036-B4C04F4A4E32", "4c4c4544-0052-3410-8036-b4c04f4a4e32"}, // a real Dell
		{"00000000-0000-0000-0000-000000000000", ""},
		{"FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", ""},
		{"ffffffff-ffff-ffff-ffff-ffffffffffff", ""},
		{"11111111-1111-1111-1111-111111111111", ""},
		{"03000200-0400-0500-0006-000700080009", ""}, // AMI placeholder, SMBIOS order
		{"00020003-0004-0005-0006-000700080009", ""}, // the same, as Windows reports it
		{"12345678-1234-5678-90AB-CDDEEFAABBCC", ""},
		{"78563412-3412-7856-90ab-cddeefaabbcc", ""}, // swapped
		{"4C4C4544-0000-2010-8020-80C04F202020", ""}, // Dell without service tag
		{"Not Settable", ""},
		{"Not Present", ""},
		{"", ""},
		{"8E7F2C80-2B4A-11B2-A85C-D1F5E8A0C3B", ""},   // short
		{"8E7F2C80_2B4A_11B2_A85C_D1F5E8A0C3B4", ""},  // bad separators
		{"8E7F2C80-2B4A-11B2-A85C-D1F5E8A0C3BZ", ""},  // not hex
		{"8E7F2C80-2B4A-11B2-A85C-D1F5E8A0C3B4-", ""}, // too long
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, ok := validUUID(tt.in)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("validUUID(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
			}
		})
	}
}

func TestSmallParsers(t *testing.T) {
	t.Parallel()
	dates := map[string]string{
		"02/22/2024": "2024-02-22", "2/3/2019": "2019-02-03", "20241130": "2024-11-30",
		"20190315000000.000000+000": "2019-03-15", "2024-01-16": "2024-01-16", "2024-01-16T10:00:00Z": "2024-01-16",
		"13/01/2024": "", "2024-02-30": "", "yesterday": "", "": "", "1/2": "", "00000000": "",
	}
	for in, want := range dates {
		if got := normDate(in); got != want {
			t.Errorf("normDate(%q) = %q, want %q", in, got, want)
		}
	}
	chassis := map[string]string{"10": "Notebook", "{3}": "Desktop", "9,10": "Laptop", "131": "Desktop", "0": "", "99": "", "Other": "Other", "": ""}
	for in, want := range chassis {
		if got := chassisName(in); got != want {
			t.Errorf("chassisName(%q) = %q, want %q", in, got, want)
		}
	}
	arch := map[string]string{"x86_64": "x64", "AMD64": "x64", "i686": "x86", "i386": "x86", "aarch64": "arm64", "arm64": "arm64", "armv7l": "arm", "riscv64": "riscv64"}
	for in, want := range arch {
		if got := archName(in); got != want {
			t.Errorf("archName(%q) = %q, want %q", in, got, want)
		}
	}
	parts := []struct {
		fstype, mount string
		keep          bool
	}{
		{"ext4", "/", true}, {"overlay", "/", true}, {"xfs", "/home", true}, {"vfat", "/boot/efi", true},
		{"NTFS", "C:", true}, {"apfs", "/System/Volumes/Data", true}, {"nfs4", "/mnt/share", true}, {"fuseblk", "/media/usb", true},
		{"tmpfs", "/run", false}, {"proc", "/proc", false}, {"sysfs", "/sys", false}, {"cgroup2", "/sys/fs/cgroup", false},
		{"squashfs", "/snap/core22/1380", false}, {"devfs", "/dev", false}, {"autofs", "/System/Volumes/Data/home", false},
		{"ext4", "/dev/hugepages", false}, {"overlay", "/var/lib/docker/overlay2/abc/merged", false}, {"fuse.portal", "/run/user/1000/doc", false},
		{"", "/x", false},
	}
	for _, p := range parts {
		if got := keepPartition(p.fstype, p.mount); got != p.keep {
			t.Errorf("keepPartition(%q, %q) = %v", p.fstype, p.mount, got)
		}
	}
	osr := parseOSRelease([]byte("# comment\nPRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\nNAME='Ubuntu'\nVERSION_ID=24.04\nBAD LINE\nQUOTED=\"a \\\"b\\\"\"\n"))
	if want := map[string]string{"PRETTY_NAME": "Ubuntu 24.04.1 LTS", "NAME": "Ubuntu", "VERSION_ID": "24.04", "QUOTED": `a "b"`}; !reflect.DeepEqual(osr, want) {
		t.Errorf("parseOSRelease = %q", osr)
	}
	if got := osReleaseName(os.DirFS("testdata/root")); got == "" {
		t.Error("osReleaseName: empty")
	}
	if got := cleanDMI(" Default string "); got != "" {
		t.Errorf("cleanDMI placeholder = %q", got)
	}
	if got := clean("a\x00b\tc\r\n\xff"); got != "ab c  \uFFFD" {
		t.Errorf("clean = %q", got)
	}
	if epochDate("-5") != "" || epochDate("1e20") != "" || epochDate("99999999999999") != "" {
		t.Error("epochDate accepted garbage")
	}
}

func TestSortSoftware(t *testing.T) {
	t.Parallel()
	in := []Software{{Name: "b"}, {Name: "A", Version: "2"}, {Name: "a", Version: "1"}, {Name: "b"}, {Name: "A", Version: "1"}}
	want := []Software{{Name: "A", Version: "1"}, {Name: "A", Version: "2"}, {Name: "a", Version: "1"}, {Name: "b"}}
	if got := sortSoftware(in); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v", got)
	}
}

// checkEntries asserts the invariants every parser keeps on any input.
func checkEntries(t *testing.T, sw []Software) {
	t.Helper()
	if len(sw) > maxSoftware {
		t.Fatalf("%d entries", len(sw))
	}
	for _, s := range sw {
		for _, f := range []string{s.Name, s.Version, s.Publisher, s.Arch, s.Key, s.InstallDate, s.Scope} {
			if len(f) > maxField || !utf8.ValidString(f) || strings.IndexFunc(f, unicode.IsControl) >= 0 {
				t.Fatalf("bad field %q in %+v", f, s)
			}
		}
		if s.Name == "" {
			t.Fatalf("empty name: %+v", s)
		}
	}
}

func FuzzParseDpkg(f *testing.F) {
	f.Add(readTestdata(f, "dpkg.txt"))
	f.Add([]byte("a\t1\tamd64\tii \tM\n"))
	f.Add([]byte("\t\t\t\t\n\n\xff\xfe"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sw, err := parseDpkg(data)
		if err != nil && !errors.Is(err, errTooMany) {
			t.Fatal(err)
		}
		checkEntries(t, sw)
	})
}

func FuzzParseRpm(f *testing.F) {
	f.Add(readTestdata(f, "rpm.txt"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sw, _ := parseRpm(data)
		checkEntries(t, sw)
	})
}

func FuzzParsePlist(f *testing.F) {
	f.Add(readTestdata(f, "Applications/Firefox.app/Contents/Info.plist"))
	f.Add([]byte(`<plist><dict><key>A</key><string>x</string></dict></plist>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parsePlist(data)
		if err == nil && m == nil {
			t.Fatal("nil map without error")
		}
		s := appFromPlist(m, "X.app")
		checkEntries(t, []Software{s})
	})
}

func FuzzParseWmicOrCim(f *testing.F) {
	f.Add(readTestdata(f, "cim.txt"))
	f.Add(readTestdata(f, "wmic_csproduct.txt"))
	f.Add(readTestdata(f, "cim_formatlist.txt"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, r := range parseWmicOrCim(data) {
			d := dmiFromCim(r)
			if d.UUID != "" {
				if _, ok := validUUID(d.UUID); !ok {
					t.Fatalf("invalid uuid kept: %q", d.UUID)
				}
			}
		}
		_ = dmiFromIoreg(parseIoreg(data))
	})
}
