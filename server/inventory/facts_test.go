package inventory_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/wapt-go/wapt/server/inventory"
	"github.com/wapt-go/wapt/shared/version"
)

// TestDeriveFacts: each section gives its own facts; a failed collector,
// another shape or an unknown section gives none.
func TestDeriveFacts(t *testing.T) {
	tests := []struct {
		name, section, data string
		want                *inventory.Facts
	}{
		{"dmi", "dmi", `{"manufacturer":"Dell Inc.","model":"Latitude 7440","serial":"ABC123","uuid":"4C4C4544-0042-3510-8051-B4C04F565A33","bios_vendor":"Dell"}`,
			&inventory.Facts{Manufacturer: "Dell Inc.", Model: "Latitude 7440", Serial: "ABC123", SystemUUID: "4c4c4544-0042-3510-8051-b4c04f565a33"}},
		{"dmi placeholder uuid", "dmi", `{"manufacturer":"QEMU","uuid":"00000000-0000-0000-0000-000000000000"}`, &inventory.Facts{Manufacturer: "QEMU"}},
		{"dmi all-F uuid", "dmi", `{"uuid":"FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF"}`, &inventory.Facts{}},
		{"dmi not a uuid", "dmi", `{"uuid":"'; DROP TABLE hosts;--"}`, &inventory.Facts{}},
		{"dmi failed", "dmi", `{"error":"/sys/class/dmi/id: no DMI data"}`, nil},
		{"dmi wrong type", "dmi", `{"manufacturer":42}`, nil},
		{"dmi array", "dmi", `["Dell"]`, nil},
		{"cpu", "cpu", `{"model":"AMD EPYC","vendor":"AuthenticAMD","physical_cores":2}`, &inventory.Facts{CPUModel: "AMD EPYC"}},
		{"memory", "memory", `{"total_bytes":25276502016,"swap_total_bytes":0}`, &inventory.Facts{RAMBytes: 25276502016}},
		{"memory without total", "memory", `{"swap_total_bytes":0}`, nil},
		{"memory negative", "memory", `{"total_bytes":-1}`, nil},
		{"memory string", "memory", `{"total_bytes":"8G"}`, nil},
		{"disks: one device once, network shares and errors left out", "disks", `{"partitions":[
			{"device":"/dev/sda1","mountpoint":"/","fstype":"ext4","total_bytes":1000,"free_bytes":400},
			{"device":"/dev/sda1","mountpoint":"/var/lib/docker","fstype":"ext4","total_bytes":1000,"free_bytes":400},
			{"device":"/dev/sdb1","mountpoint":"/data","fstype":"xfs","total_bytes":5000,"free_bytes":1000},
			{"device":"nas:/export","mountpoint":"/mnt/nas","fstype":"nfs4","total_bytes":90000,"free_bytes":9000},
			{"device":"\\\\srv\\share","mountpoint":"Z:","fstype":"NTFS","total_bytes":90000,"free_bytes":9000},
			{"device":"/dev/sdc1","mountpoint":"/broken","fstype":"ext4","error":"usage: timed out"}]}`,
			&inventory.Facts{DiskTotalBytes: 6000, DiskFreeBytes: 1400}},
		{"disks full", "disks", `{"partitions":[{"device":"C:","mountpoint":"C:","fstype":"NTFS","total_bytes":1000,"free_bytes":0}]}`,
			&inventory.Facts{DiskTotalBytes: 1000}},
		{"disks none", "disks", `{"partitions":[]}`, &inventory.Facts{}},
		{"disks no partitions key", "disks", `{}`, nil},
		{"host", "host", `{"hostname":"pc1","os":"linux","os_name":"Debian GNU/Linux 12 (bookworm)","kernel_version":"6.1.0-18-amd64","users":[]}`,
			&inventory.Facts{OSName: "Debian GNU/Linux 12 (bookworm)", Kernel: "6.1.0-18-amd64"}},
		{"host failed", "host", `{"error":"hostname: denied"}`, nil},
		{"network has no facts", "network", `{"interfaces":[]}`, nil},
		{"unknown section", "x", `{"manufacturer":"Dell"}`, nil},
		{"software", "software", `[{"name":"OpenSSL","version":"3.0.19-1~deb12u2","publisher":"Debian","arch":"amd64","source":"dpkg","key":"openssl:amd64"},
			{"name":"OpenSSL","version":"3.0.19-1~deb12u2","publisher":"Debian","arch":"amd64","source":"dpkg"},
			{"name":"","version":"1"},
			{"name":"Mozilla Firefox (x64 en-US)","version":"","source":"registry"}]`,
			&inventory.Facts{Software: []inventory.SoftwareRow{
				{Name: "OpenSSL", NameKey: "openssl", Version: "3.0.19-1~deb12u2", Publisher: "Debian", Arch: "amd64", Source: "dpkg",
					VersionKey: inventory.VersionKey(version.MustParse("3.0.19-1"))},
				{Name: "Mozilla Firefox (x64 en-US)", NameKey: "mozilla firefox (x64 en-us)", Source: "registry"},
			}}},
		{"software empty", "software", `[]`, &inventory.Facts{Software: []inventory.SoftwareRow{}}},
		{"software failed", "software", `{"error":"dpkg-query: executable file not found"}`, nil},
		{"software wrong shape", "software", `[{"name":["x"]}]`, nil},
		{"software not objects", "software", `["openssl"]`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := inventory.DeriveFacts(tt.section, []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DeriveFacts(%s) =\n%+v\nwant\n%+v", tt.section, got, tt.want)
			}
		})
	}

	t.Run("too many software entries", func(t *testing.T) {
		var b bytes.Buffer
		b.WriteString("[")
		for i := range inventory.MaxSoftwareRows + 1 {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"name":"p%d"}`, i)
		}
		b.WriteString("]")
		if _, err := inventory.DeriveFacts("software", b.Bytes()); !errors.Is(err, inventory.ErrInvalid) {
			t.Errorf("DeriveFacts of %d entries = %v, want ErrInvalid", inventory.MaxSoftwareRows+1, err)
		}
	})
	t.Run("long fields are cut", func(t *testing.T) {
		long := strings.Repeat("é", inventory.MaxFactLen)
		f, err := inventory.DeriveFacts("software", []byte(`[{"name":"`+long+`","version":"1"}]`))
		if err != nil || len(f.Software) != 1 || len(f.Software[0].Name) > inventory.MaxFactLen || !strings.HasPrefix(long, f.Software[0].Name) {
			t.Errorf("long name: %v, %+v", err, f)
		}
	})
}

// TestDeriveFactsAgentOutput reads what the real agent sent on a Debian 12
// container (`wapt-get inventory --json`, software trimmed): no DMI there
// (its section reports the error), dpkg versions with epochs and Debian
// revisions.
func TestDeriveFactsAgentOutput(t *testing.T) {
	b, err := os.ReadFile("testdata/agent-linux.json")
	if err != nil {
		t.Fatal(err)
	}
	var secs map[string]json.RawMessage
	if err := json.Unmarshal(b, &secs); err != nil {
		t.Fatal(err)
	}
	facts := map[string]*inventory.Facts{}
	for name, data := range secs {
		if facts[name], err = inventory.DeriveFacts(name, data); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if facts["dmi"] != nil || facts["network"] != nil {
		t.Errorf("dmi %+v, network %+v: want none", facts["dmi"], facts["network"])
	}
	if f := facts["host"]; f == nil || f.OSName != "Debian GNU/Linux 12 (bookworm)" || f.Kernel == "" {
		t.Errorf("host facts %+v", f)
	}
	if f := facts["memory"]; f == nil || f.RAMBytes < 1<<30 {
		t.Errorf("memory facts %+v", f)
	}
	if f := facts["disks"]; f == nil || f.DiskTotalBytes == 0 || f.DiskFreeBytes == 0 || f.DiskFreeBytes > f.DiskTotalBytes {
		t.Errorf("disk facts %+v", f)
	}
	if f := facts["cpu"]; f == nil || f.CPUModel == "" {
		t.Errorf("cpu facts %+v", f)
	}
	sw := facts["software"]
	if sw == nil || len(sw.Software) != 16 {
		t.Fatalf("software facts %+v", sw)
	}
	for _, r := range sw.Software {
		if r.VersionKey == nil {
			t.Errorf("%s %s: no version key", r.Name, r.Version)
		}
	}
}

// TestSoftwareVersion: what a software version compares as.
func TestSoftwareVersion(t *testing.T) {
	tests := []struct{ in, want string }{ // want "" : no key
		{"3.0.2", "3.0.2"},
		{"115.0.2", "115.0.2"},
		{"10.0.19041.1", "10.0.19041.1"},
		{"1.0-3", "1.0-3"},
		{"3.0.19-1~deb12u2", "3.0.19-1"},
		{"1.1.1f-1ubuntu2", "1.1.1f-1"},
		{"1:2.3", "2.3"},
		{"2:8.2.3995-1+deb12u2", "8.2.3995-1"},
		{"1:1.2.13.dfsg-1", "1.2.13.dfsg-1"},
		{"5.2.15-2+b8", "5.2.15-2"},
		{"2025b-0+deb12u2", "2025b-0"},
		{"20230311+deb12u1", "20230311+deb12u1"},
		{"1.2.3.4.5", "1.2.3.4"},
		{"115.0.2 (x64 en-US)", "115.0.2"},
		{"2.0-beta-1", "2.0"},
		{"4.5.", "4.5"},
		{" 7 ", "7"},
		{"", ""},
		{"(none)", ""},
		{"-1", ""},
		{"unknown build", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v, ok := inventory.SoftwareVersion(tt.in)
			got := ""
			if ok {
				got = v.String()
			}
			if got != tt.want {
				t.Errorf("SoftwareVersion(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if k := inventory.SoftwareVersionKey(tt.in); (k == nil) != (tt.want == "") {
				t.Errorf("SoftwareVersionKey(%q) = %x", tt.in, k)
			}
		})
	}
}

// matches tells whether an installed version v passes c, as the store
// compares (bytes of the version keys).
func matches(c inventory.SoftwareCond, v string) bool {
	if c.Versions == nil {
		return true
	}
	k := inventory.SoftwareVersionKey(v)
	if k == nil {
		return false
	}
	r := c.Versions
	in := true
	if r.Lo != nil {
		cmp := bytes.Compare(k, r.Lo)
		in = in && (cmp > 0 || cmp == 0 && r.LoIncl)
	}
	if r.Hi != nil {
		cmp := bytes.Compare(k, r.Hi)
		in = in && (cmp < 0 || cmp == 0 && r.HiIncl)
	}
	return in != c.Exclude
}

// TestParseSoftwareFilter: syntax, and every operator against real-world
// versions, with shared/version semantics.
func TestParseSoftwareFilter(t *testing.T) {
	versions := []string{"1.1.1f-1ubuntu2", "3.0.2", "3.0.19-1~deb12u2", "115.0.2", "1:2.3", "(none)"}
	tests := []struct {
		filter string
		name   string
		prefix bool
		match  []string // of versions
	}{
		{"openssl", "openssl", false, versions},
		{"OpenSSL", "openssl", false, versions},
		{"  openssl  ", "openssl", false, versions},
		{"openssl<99", "openssl", false, []string{"1.1.1f-1ubuntu2", "3.0.2", "3.0.19-1~deb12u2", "1:2.3"}},
		{"openssl(<99)", "openssl", false, []string{"1.1.1f-1ubuntu2", "3.0.2", "3.0.19-1~deb12u2", "1:2.3"}},
		{"openssl <3", "openssl", false, []string{"1.1.1f-1ubuntu2", "1:2.3"}},
		{"openssl<=3.0.2", "openssl", false, []string{"1.1.1f-1ubuntu2", "3.0.2", "1:2.3"}},
		{"openssl>3.0.2", "openssl", false, []string{"3.0.19-1~deb12u2", "115.0.2"}},
		{"openssl>=3.0.19", "openssl", false, []string{"3.0.19-1~deb12u2", "115.0.2"}},
		{"openssl==3.0.19", "openssl", false, []string{"3.0.19-1~deb12u2"}},
		{"openssl=3.0.19-1", "openssl", false, []string{"3.0.19-1~deb12u2"}},
		{"openssl=3.0.19-2", "openssl", false, nil},
		{"openssl=3.0.19-1~deb12u2", "openssl", false, []string{"3.0.19-1~deb12u2"}},
		{"openssl(==2.3)", "openssl", false, []string{"1:2.3"}},
		{"openssl!=3.0.2", "openssl", false, []string{"1.1.1f-1ubuntu2", "3.0.19-1~deb12u2", "115.0.2", "1:2.3"}},
		{"openssl<1.1.1g", "openssl", false, []string{"1.1.1f-1ubuntu2"}},
		{"firefox>=115", "firefox", false, []string{"115.0.2"}},
		{"python3*", "python3", true, versions},
		{"Python3* >= 3", "python3", true, []string{"3.0.2", "3.0.19-1~deb12u2", "115.0.2"}},
		{"Mozilla Firefox (x64 en-US)<128", "mozilla firefox (x64 en-us)", false, []string{"1.1.1f-1ubuntu2", "3.0.2", "3.0.19-1~deb12u2", "115.0.2", "1:2.3"}},
		{"Mozilla Firefox (x64 en-US)", "mozilla firefox (x64 en-us)", false, versions},
		{"Mozilla Firefox (x64 en-US)(>=116)", "mozilla firefox (x64 en-us)", false, nil},
		{"x' OR 1>0", "x' or 1", false, []string{"1.1.1f-1ubuntu2", "3.0.2", "3.0.19-1~deb12u2", "115.0.2", "1:2.3"}},
		{"openssl~3", "openssl~3", false, versions},
		{"100%_", "100%_", false, versions},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			c, err := inventory.ParseSoftwareFilter(tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if c.Name != tt.name || c.Prefix != tt.prefix {
				t.Errorf("name %q prefix %v, want %q %v", c.Name, c.Prefix, tt.name, tt.prefix)
			}
			var got []string
			for _, v := range versions {
				if matches(c, v) {
					got = append(got, v)
				}
			}
			if !reflect.DeepEqual(got, tt.match) {
				t.Errorf("matches %q, want %q", got, tt.match)
			}
		})
	}
	for _, bad := range []string{"", "  ", "<3", "*", "*<3", "openssl<", "openssl<=>3", "openssl=<3", "x'or'1'='1", "x' OR '1'>'0", "openssl(<3",
		"openssl<(none)", "a\x00b", "a\nb", "\xff", strings.Repeat("a", inventory.MaxSoftwareFilter+1), "openssl!3"} {
		if _, err := inventory.ParseSoftwareFilter(bad); !errors.Is(err, inventory.ErrInvalid) {
			t.Errorf("ParseSoftwareFilter(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}
