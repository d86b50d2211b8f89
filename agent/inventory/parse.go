package inventory

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the pure parsers of the per-OS sources. They take bytes
// or plain values, never touch the system, never panic and bound what they
// keep, so they are tested on every OS with fixed sample outputs.

// errTooMany is returned when a source lists more than maxSoftware entries.
var errTooMany = fmt.Errorf("more than %d software entries", maxSoftware)

// clean makes s safe to store: valid UTF-8, control characters removed
// (tabs and newlines become spaces), trimmed, at most maxField bytes.
func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		s = strings.Map(func(r rune) rune {
			switch {
			case r == '\t' || r == '\n' || r == '\r':
				return ' '
			case unicode.IsControl(r):
				return -1
			}
			return r
		}, s)
	}
	s = strings.TrimSpace(s)
	if len(s) > maxField {
		i := maxField
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = strings.TrimSpace(s[:i])
	}
	return s
}

// lines calls fn with each line of out, without its line ending.
func lines(out []byte, fn func(line string) error) error {
	for l := range bytes.Lines(out) {
		if err := fn(string(bytes.TrimRight(l, "\r\n"))); err != nil {
			return err
		}
	}
	return nil
}

// parseDpkg parses the output of
//
//	dpkg-query -W -f='${Package}\t${Version}\t${Architecture}\t${db:Status-Abbrev}\t${Maintainer}\n'
//
// keeping installed packages only: the second status letter is 'i' ("ii",
// and "hi" for a held package); "rc" (removed, config files left) and "un"
// are dropped.
func parseDpkg(out []byte) ([]Software, error) {
	sw := []Software{}
	err := lines(out, func(line string) error {
		f := strings.SplitN(line, "\t", 5)
		if len(f) < 4 {
			return nil
		}
		if st := strings.TrimSpace(f[3]); len(st) < 2 || st[1] != 'i' {
			return nil
		}
		name := clean(f[0])
		if name == "" {
			return nil
		}
		if len(sw) >= maxSoftware {
			return errTooMany
		}
		s := Software{Name: name, Version: clean(f[1]), Arch: clean(f[2]), Source: SourceDpkg, Key: name}
		if s.Arch != "" {
			s.Key = clean(name + ":" + s.Arch)
		}
		if len(f) == 5 {
			s.Publisher = clean(f[4])
		}
		sw = append(sw, s)
		return nil
	})
	return sw, err
}

// parseRpm parses the output of
//
//	rpm -qa --queryformat '%{NAME}\t%{VERSION}-%{RELEASE}\t%{ARCH}\t%{VENDOR}\t%{INSTALLTIME}\n'
//
// dropping the gpg-pubkey pseudo-packages; "(none)" values become empty.
func parseRpm(out []byte) ([]Software, error) {
	sw := []Software{}
	err := lines(out, func(line string) error {
		f := strings.SplitN(line, "\t", 5)
		if len(f) < 2 {
			return nil
		}
		for len(f) < 5 {
			f = append(f, "")
		}
		name := rpmValue(f[0])
		if name == "" || name == "gpg-pubkey" {
			return nil
		}
		if len(sw) >= maxSoftware {
			return errTooMany
		}
		s := Software{
			Name: name, Version: rpmValue(f[1]), Arch: rpmValue(f[2]), Publisher: rpmValue(f[3]),
			Source: SourceRpm, InstallDate: epochDate(f[4]),
		}
		s.Key = name + "-" + s.Version
		if s.Arch != "" {
			s.Key += "." + s.Arch
		}
		s.Key = clean(s.Key)
		sw = append(sw, s)
		return nil
	})
	return sw, err
}

func rpmValue(s string) string {
	s = clean(s)
	if s == "(none)" {
		return ""
	}
	return s
}

// epochDate turns Unix seconds into a UTC YYYY-MM-DD date, "" when s is not
// a plausible time.
func epochDate(s string) string {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 || n > 1e11 {
		return ""
	}
	return time.Unix(n, 0).UTC().Format(time.DateOnly)
}

// normDate normalises the date formats firmwares and installers write to
// YYYY-MM-DD: "MM/DD/YYYY" (BIOS, M/D allowed), "YYYYMMDD" (Windows
// InstallDate), "YYYYMMDDhhmmss.ffffff+zzz" (WMI) and "YYYY-MM-DD…". Any
// other value gives "".
func normDate(s string) string {
	s = strings.TrimSpace(s)
	var y, m, d string
	switch {
	case strings.Count(s, "/") == 2:
		p := strings.Split(s, "/")
		m, d, y = p[0], p[1], p[2]
	case len(s) >= 10 && s[4] == '-' && s[7] == '-':
		y, m, d = s[:4], s[5:7], s[8:10]
	case len(s) >= 8 && allDigits(s[:8]):
		y, m, d = s[:4], s[4:6], s[6:8]
	default:
		return ""
	}
	if len(y) != 4 || len(m) == 0 || len(m) > 2 || len(d) == 0 || len(d) > 2 {
		return ""
	}
	if len(m) == 1 {
		m = "0" + m
	}
	if len(d) == 1 {
		d = "0" + d
	}
	t, err := time.Parse(time.DateOnly, y+"-"+m+"-"+d)
	if err != nil || t.Year() < 1970 {
		return ""
	}
	return t.Format(time.DateOnly)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// uuidPlaceholders are system UUIDs firmwares ship unconfigured, in the
// SMBIOS (Linux sysfs) byte order; validUUID also checks the swapped order
// Windows reports.
var uuidPlaceholders = []string{
	"03000200-0400-0500-0006-000700080009", // AMI/Gigabyte boards
	"12345678-1234-5678-90ab-cddeefaabbcc", // Supermicro and others
	"4c4c4544-0000-2010-8020-80c04f202020", // Dell with an empty service tag
	"01234567-89ab-cdef-0123-456789abcdef",
	"00112233-4455-6677-8899-aabbccddeeff",
	"11111111-2222-3333-4444-555555555555",
}

// validUUID normalises a reported system UUID to lowercase 8-4-4-4-12 form
// and reports whether it identifies a machine: it must parse (braces and a
// missing hyphenation are accepted), must not be one repeated digit
// (all-zero, all-F) and must not be a known placeholder in either byte
// order.
func validUUID(s string) (string, bool) {
	s = strings.Trim(s, " \t\r\n\x00")
	if len(s) >= 2 && s[0] == '{' && s[len(s)-1] == '}' {
		s = s[1 : len(s)-1]
	}
	var hex string
	switch len(s) {
	case 36:
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return "", false
		}
		hex = s[:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	case 32:
		hex = s
	default:
		return "", false
	}
	hex = strings.ToLower(hex)
	for i := 0; i < len(hex); i++ {
		if !strings.ContainsRune("0123456789abcdef", rune(hex[i])) {
			return "", false
		}
	}
	if strings.Count(hex, hex[:1]) == len(hex) {
		return "", false
	}
	u := hex[:8] + "-" + hex[8:12] + "-" + hex[12:16] + "-" + hex[16:20] + "-" + hex[20:]
	if slices.Contains(uuidPlaceholders, u) || slices.Contains(uuidPlaceholders, swapUUID(u)) {
		return "", false
	}
	return u, true
}

// swapUUID swaps the byte order of the first three fields of a canonical
// UUID (SMBIOS mixed-endian ↔ big-endian).
func swapUUID(u string) string {
	rev := func(h string) string {
		b := []byte(h)
		for i, j := 0, len(b)-2; i < j; i, j = i+2, j-2 {
			b[i], b[i+1], b[j], b[j+1] = b[j], b[j+1], b[i], b[i+1]
		}
		return string(b)
	}
	return rev(u[:8]) + "-" + rev(u[9:13]) + "-" + rev(u[14:18]) + u[18:]
}

// dmiPlaceholders are values firmwares leave in unset DMI strings.
var dmiPlaceholders = []string{
	"to be filled by o.e.m.", "to be filled by oem", "default string", "not specified",
	"not applicable", "not available", "none", "n/a", "na", "oem", "o.e.m.", "x.x",
	"system serial number", "system product name", "system manufacturer", "system version",
	"chassis serial number", "chassis manufacture", "chassis version", "base board serial number",
	"sku", "default", "invalid", "0", "00000000", "0000000000", "0123456789", "123456789",
	"type1productconfigid", "type2 - board serial number", "no asset information", "no asset tag",
	"asset-1234567890", "not set",
}

// cleanDMI cleans a DMI string and drops firmware placeholders.
func cleanDMI(s string) string {
	s = clean(s)
	if slices.Contains(dmiPlaceholders, strings.ToLower(s)) {
		return ""
	}
	return s
}

// chassisNames are the SMBIOS chassis types (DSP0134 7.4.1), index = code.
var chassisNames = []string{
	"", "Other", "Unknown", "Desktop", "Low Profile Desktop", "Pizza Box", "Mini Tower",
	"Tower", "Portable", "Laptop", "Notebook", "Hand Held", "Docking Station", "All in One",
	"Sub Notebook", "Space-saving", "Lunch Box", "Main Server Chassis", "Expansion Chassis",
	"SubChassis", "Bus Expansion Chassis", "Peripheral Chassis", "RAID Chassis",
	"Rack Mount Chassis", "Sealed-case PC", "Multi-system chassis", "Compact PCI",
	"Advanced TCA", "Blade", "Blade Enclosure", "Tablet", "Convertible", "Detachable",
	"IoT Gateway", "Embedded PC", "Mini PC", "Stick PC",
}

// chassisName maps an SMBIOS chassis type code ("10", "{10}", "10,3" — the
// first one counts) to its name; a non-numeric value is kept as cleaned.
func chassisName(s string) string {
	s = strings.Trim(strings.TrimSpace(s), "{}")
	if i := strings.IndexAny(s, ", "); i >= 0 {
		s = s[:i]
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return cleanDMI(s)
	}
	n &= 0x7f // bit 7 is the "chassis lock present" flag
	if n > 0 && n < len(chassisNames) {
		return chassisNames[n]
	}
	return ""
}

// archName maps a kernel architecture to WAPT's names (x64, x86, arm64,
// arm); others are returned as they are.
func archName(kernelArch string) string {
	a := strings.ToLower(strings.TrimSpace(kernelArch))
	switch {
	case a == "x86_64" || a == "amd64" || a == "x64":
		return "x64"
	case a == "x86" || a == "386" || (len(a) == 4 && a[0] == 'i' && strings.HasSuffix(a, "86")):
		return "x86"
	case a == "aarch64" || a == "arm64" || strings.HasPrefix(a, "armv8"):
		return "arm64"
	case strings.HasPrefix(a, "arm"):
		return "arm"
	}
	return a
}

// pseudoFS are filesystem types that hold no user data.
var pseudoFS = []string{
	"autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devfs",
	"devpts", "devtmpfs", "efivarfs", "fdescfs", "fusectl", "fuse.gvfsd-fuse", "fuse.lxcfs",
	"fuse.portal", "fuse.snapfuse", "hugetlbfs", "mqueue", "nsfs", "nullfs", "pipefs", "proc",
	"pstore", "ramfs", "rootfs", "rpc_pipefs", "securityfs", "selinuxfs", "sockfs", "squashfs",
	"sysfs", "tmpfs", "tracefs", "nfsd", "none",
}

// keepPartition reports whether a mount is a real volume worth listing:
// not a pseudo filesystem, not under /proc, /sys or /dev, not a container
// runtime's layer.
func keepPartition(fstype, mountpoint string) bool {
	if fstype == "" || slices.Contains(pseudoFS, strings.ToLower(fstype)) {
		return false
	}
	for _, p := range []string{"/proc", "/sys", "/dev", "/var/lib/docker", "/var/lib/containers", "/var/lib/kubelet", "/run/docker", "/run/containerd"} {
		if mountpoint == p || strings.HasPrefix(mountpoint, p+"/") {
			return false
		}
	}
	return true
}

// parseOSRelease parses /etc/os-release (KEY=value, values optionally
// quoted).
func parseOSRelease(data []byte) map[string]string {
	m := map[string]string{}
	_ = lines(data, func(line string) error {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || k == "" || strings.HasPrefix(k, "#") || len(m) >= 256 {
			return nil
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
			v = strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\$`, `$`, "\\`", "`").Replace(v)
		}
		m[k] = clean(v)
		return nil
	})
	return m
}

// parseIoreg parses `ioreg -rd1 -c IOPlatformExpertDevice` into its
// properties: "key" = "string" and "key" = <"data string"> give the string
// (the first one of a list); other values are kept as printed. The first
// occurrence of a key wins.
func parseIoreg(out []byte) map[string]string {
	m := map[string]string{}
	_ = lines(out, func(line string) error {
		line = strings.TrimLeft(line, " \t|")
		if len(line) < 2 || line[0] != '"' || len(m) >= 4096 {
			return nil
		}
		end := strings.IndexByte(line[1:], '"')
		if end < 0 {
			return nil
		}
		key := line[1 : 1+end]
		rest, ok := strings.CutPrefix(strings.TrimSpace(line[2+end:]), "=")
		if !ok {
			return nil
		}
		if _, dup := m[key]; dup {
			return nil
		}
		m[key] = ioregValue(strings.TrimSpace(rest))
		return nil
	})
	return m
}

func ioregValue(v string) string {
	v = strings.TrimPrefix(v, "<")
	if strings.HasPrefix(v, `"`) {
		if end := strings.IndexByte(v[1:], '"'); end >= 0 {
			return clean(strings.TrimRight(v[1:1+end], "\x00"))
		}
	}
	return clean(strings.TrimSuffix(v, ">"))
}

// dmiFromIoreg maps IOPlatformExpertDevice properties to the dmi section.
func dmiFromIoreg(m map[string]string) dmiInfo {
	d := dmiInfo{
		Manufacturer: cleanDMI(m["manufacturer"]),
		Model:        cleanDMI(m["model"]),
		Family:       cleanDMI(m["product-name"]),
		Serial:       cleanDMI(m["IOPlatformSerialNumber"]),
		BoardName:    cleanDMI(cmp.Or(m["board-id"], m["target-type"])),
	}
	if d.Manufacturer == "" && d.Model != "" {
		d.Manufacturer = "Apple Inc."
	}
	d.setUUID(m["IOPlatformUUID"])
	return d
}

// parseWmicOrCim parses `wmic … get … /format:list` output ("Key=Value")
// and PowerShell Format-List output ("Key : Value", wrapped lines indented)
// into records, one per blank-line separated block. UTF-16LE output (wmic
// redirected to a file) is decoded.
func parseWmicOrCim(out []byte) []map[string]string {
	text := decodeUTF16(out)
	var recs []map[string]string
	cur := map[string]string{}
	last := ""
	flush := func() {
		if len(cur) > 0 && len(recs) < 1000 {
			recs = append(recs, cur)
		}
		cur, last = map[string]string{}, ""
	}
	_ = lines([]byte(text), func(line string) error {
		if strings.TrimSpace(line) == "" {
			flush()
			return nil
		}
		if (line[0] == ' ' || line[0] == '\t') && last != "" {
			cur[last] = clean(cur[last] + strings.TrimSpace(line)) // Format-List wrapped value
			return nil
		}
		i := strings.IndexAny(line, "=:")
		if i <= 0 {
			return nil
		}
		key := strings.TrimSpace(line[:i])
		if !isIdent(key) || len(cur) >= 1000 {
			return nil
		}
		cur[key] = clean(line[i+1:])
		last = key
		return nil
	})
	flush()
	return recs
}

func isIdent(s string) bool {
	for _, r := range s {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return s != ""
}

// decodeUTF16 returns out as a string, decoding it first when it is
// UTF-16LE (a BOM, or NULs in the odd bytes).
func decodeUTF16(out []byte) string {
	out = bytes.TrimPrefix(out, []byte("\xef\xbb\xbf")) // UTF-8 BOM
	bom := len(out) >= 2 && out[0] == 0xff && out[1] == 0xfe
	if !bom && (len(out) < 4 || out[1] != 0 || out[3] != 0 || out[0] == 0) {
		return string(out)
	}
	if bom {
		out = out[2:]
	}
	u := make([]uint16, len(out)/2)
	for i := range u {
		u[i] = uint16(out[2*i]) | uint16(out[2*i+1])<<8
	}
	return string(utf16.Decode(u))
}

// dmiFromCim maps one record of the Windows DMI query (see the script in
// the Windows collector; plain Win32_ComputerSystemProduct and wmic csproduct
// records work too) to the dmi section. Keys are matched case-insensitively.
func dmiFromCim(rec map[string]string) dmiInfo {
	r := make(map[string]string, len(rec))
	for k, v := range rec {
		r[strings.ToLower(k)] = v
	}
	d := dmiInfo{
		Manufacturer:    cleanDMI(cmp.Or(r["manufacturer"], r["vendor"])),
		Model:           cleanDMI(cmp.Or(r["model"], r["name"])),
		ProductVersion:  cleanDMI(r["version"]),
		Family:          cleanDMI(r["systemfamily"]),
		SKU:             cleanDMI(cmp.Or(r["systemskunumber"], r["skunumber"])),
		Serial:          cleanDMI(cmp.Or(cleanDMI(r["identifyingnumber"]), r["biosserial"])),
		BIOSVendor:      cleanDMI(r["biosmanufacturer"]),
		BIOSVersion:     cleanDMI(r["biosversion"]),
		BIOSDate:        normDate(r["biosreleasedate"]),
		BoardVendor:     cleanDMI(r["boardmanufacturer"]),
		BoardName:       cleanDMI(r["boardproduct"]),
		BoardVersion:    cleanDMI(r["boardversion"]),
		BoardSerial:     cleanDMI(r["boardserial"]),
		ChassisVendor:   cleanDMI(r["chassismanufacturer"]),
		ChassisType:     chassisName(r["chassistypes"]),
		ChassisSerial:   cleanDMI(r["chassisserial"]),
		ChassisAssetTag: cleanDMI(r["chassisassettag"]),
	}
	d.setUUID(r["uuid"])
	return d
}

// regEntry is one subkey of an Uninstall registry key, as read by the
// Windows collector.
type regEntry struct {
	Key              string // subkey name: a product code or a free name
	View             string // "64" or "32" (Wow6432Node) for HKLM; "" for a user hive
	NativeArch       string // architecture of the 64-bit view (x64, arm64)
	Scope            string // "machine" or "user:<sid>"
	DisplayName      string
	DisplayVersion   string
	Publisher        string
	InstallDate      string
	ParentKeyName    string
	ReleaseType      string
	SystemComponent  uint64
	WindowsInstaller uint64
}

// softwareFromRegistry maps an Uninstall entry to a Software, as "Programs
// and Features" lists them: entries without DisplayName, hidden system
// components and updates of another product (ParentKeyName, ReleaseType
// update/hotfix) are skipped.
func softwareFromRegistry(e regEntry) (Software, bool) {
	name := clean(e.DisplayName)
	if name == "" || e.SystemComponent == 1 || clean(e.ParentKeyName) != "" {
		return Software{}, false
	}
	switch strings.ToLower(clean(e.ReleaseType)) {
	case "update", "hotfix", "security update", "service pack":
		return Software{}, false
	}
	s := Software{
		Name: name, Version: clean(e.DisplayVersion), Publisher: clean(e.Publisher),
		Source: SourceRegistry, Key: clean(e.Key), InstallDate: normDate(e.InstallDate), Scope: clean(e.Scope),
	}
	if e.WindowsInstaller == 1 {
		s.Source = SourceMSIRegistry
	}
	switch e.View {
	case "64":
		s.Arch = e.NativeArch
	case "32":
		s.Arch = "x86"
	}
	return s, true
}

// appFromPlist maps an application bundle's Info.plist values to a
// Software; bundle is the bundle directory name ("Firefox.app").
func appFromPlist(m map[string]string, bundle string) Software {
	s := Software{
		Name:    clean(cmp.Or(m["CFBundleName"], m["CFBundleDisplayName"], strings.TrimSuffix(bundle, ".app"))),
		Version: clean(cmp.Or(m["CFBundleShortVersionString"], m["CFBundleVersion"])),
		Key:     clean(cmp.Or(m["CFBundleIdentifier"], bundle)),
		Source:  SourceAppBundle,
	}
	return s
}

// parsePkgList parses `pkgutil --pkgs`: one package id a line.
func parsePkgList(out []byte) ([]string, error) {
	var ids []string
	err := lines(out, func(line string) error {
		id := clean(line)
		if id == "" {
			return nil
		}
		if len(ids) >= maxSoftware {
			return errTooMany
		}
		ids = append(ids, id)
		return nil
	})
	return ids, err
}

// parsePkgInfo parses `pkgutil --pkg-info <id>` ("key: value" lines).
func parsePkgInfo(out []byte) Software {
	s := Software{Source: SourcePkgutil}
	_ = lines(out, func(line string) error {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil
		}
		switch strings.TrimSpace(k) {
		case "package-id":
			s.Name = clean(v)
			s.Key = s.Name
		case "version":
			s.Version = clean(v)
		case "install-time":
			s.InstallDate = epochDate(v)
		}
		return nil
	})
	return s
}

// sortSoftware sorts entries on all fields and drops exact duplicates (the
// same key seen through two registry views, say).
func sortSoftware(sw []Software) []Software {
	slices.SortFunc(sw, func(a, b Software) int {
		return cmp.Or(
			cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)),
			cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version),
			cmp.Compare(a.Arch, b.Arch), cmp.Compare(a.Source, b.Source),
			cmp.Compare(a.Scope, b.Scope), cmp.Compare(a.Key, b.Key),
			cmp.Compare(a.Publisher, b.Publisher), cmp.Compare(a.InstallDate, b.InstallDate),
			cmp.Compare(a.Note, b.Note),
		)
	})
	return slices.Compact(sw)
}
