package inventory

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// Inventory sections the server derives facts from, as the agent names
// them (agent/inventory).
const (
	SectionHost     = "host"
	SectionDMI      = "dmi"
	SectionCPU      = "cpu"
	SectionMemory   = "memory"
	SectionDisks    = "disks"
	SectionSoftware = "software"
)

// FactSections are the sections DeriveFacts knows, sorted. A store keeps
// each one's facts beside the section and clears them with it.
var FactSections = []string{SectionCPU, SectionDisks, SectionDMI, SectionHost, SectionMemory, SectionSoftware}

// Limits on what DeriveFacts keeps.
const (
	// MaxSoftwareRows bounds the entries of one software section; a
	// section with more is refused (ErrInvalid). The agent sends at most
	// as many.
	MaxSoftwareRows = 100_000
	// MaxFactLen bounds one text fact (a software name, a model); longer
	// ones are cut.
	MaxFactLen = 1024
)

// Facts are the queryable values the server derives from one inventory
// section, so that host filters run on indexed columns instead of parsing
// JSON. A section sets only its own fields: dmi the manufacturer, model,
// serial and system UUID; cpu CPUModel; memory RAMBytes; disks the disk
// totals; host OSName and Kernel; software Software. Empty text and zero
// RAM mean unknown.
type Facts struct {
	Manufacturer, Model, Serial string
	// SystemUUID is the DMI/SMBIOS system UUID, lower case, or "" when the
	// section's one is not a usable UUID.
	SystemUUID string
	CPUModel   string
	RAMBytes   int64
	// DiskTotalBytes and DiskFreeBytes sum the local partitions, one per
	// device.
	DiskTotalBytes, DiskFreeBytes int64
	OSName, Kernel                string
	// Software is the software section's entries, de-duplicated.
	Software []SoftwareRow
}

// SoftwareRow is one installed software, as the store indexes it.
type SoftwareRow struct {
	Name, Version, Publisher, Arch, Source string
	// NameKey is the lower-cased name, what filters match.
	NameKey string
	// VersionKey sorts like the version (SoftwareVersionKey); nil when the
	// version has none, then the row matches no version comparison.
	VersionKey []byte
}

// DeriveFacts returns the facts of inventory section name from its JSON
// data. It returns nil when the section yields none: not one of
// FactSections, a failed collector ({"error": "..."}), or data of another
// shape (a section the server does not understand is kept as sent, only
// not queryable). It fails, wrapping ErrInvalid, only for a software
// section of more than MaxSoftwareRows entries.
func DeriveFacts(name string, data []byte) (*Facts, error) {
	switch name {
	case SectionSoftware:
		return softwareFacts(data)
	case SectionDMI:
		var d struct {
			Error        string `json:"error"`
			Manufacturer string `json:"manufacturer"`
			Model        string `json:"model"`
			Serial       string `json:"serial"`
			UUID         string `json:"uuid"`
		}
		if !decodeObject(data, &d) || d.Error != "" {
			return nil, nil
		}
		return &Facts{Manufacturer: fact(d.Manufacturer), Model: fact(d.Model), Serial: fact(d.Serial), SystemUUID: systemUUID(d.UUID)}, nil
	case SectionCPU:
		var c struct {
			Error string `json:"error"`
			Model string `json:"model"`
		}
		if !decodeObject(data, &c) || c.Error != "" {
			return nil, nil
		}
		return &Facts{CPUModel: fact(c.Model)}, nil
	case SectionMemory:
		var m struct {
			Error      string  `json:"error"`
			TotalBytes *uint64 `json:"total_bytes"`
		}
		if !decodeObject(data, &m) || m.Error != "" || m.TotalBytes == nil {
			return nil, nil
		}
		return &Facts{RAMBytes: clampInt(*m.TotalBytes)}, nil
	case SectionDisks:
		return diskFacts(data), nil
	case SectionHost:
		var h struct {
			Error         string `json:"error"`
			OSName        string `json:"os_name"`
			KernelVersion string `json:"kernel_version"`
		}
		if !decodeObject(data, &h) || h.Error != "" {
			return nil, nil
		}
		return &Facts{OSName: fact(h.OSName), Kernel: fact(h.KernelVersion)}, nil
	}
	return nil, nil
}

// decodeObject decodes a JSON object into v (unknown keys ignored); false
// for any other JSON value or a field of the wrong type.
func decodeObject(data []byte, v any) bool {
	d := bytes.TrimSpace(data)
	if len(d) == 0 || d[0] != '{' {
		return false
	}
	return json.Unmarshal(d, v) == nil
}

func clampInt(u uint64) int64 {
	if u > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(u)
}

// fact trims s and cuts it to MaxFactLen bytes on a rune boundary.
func fact(s string) string {
	s = strings.TrimSpace(s)
	if len(s) <= MaxFactLen {
		return s
	}
	s = s[:MaxFactLen]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// systemUUID returns u lower-cased when it is an 8-4-4-4-12 hex UUID that
// is not all zeros or all F (firmware placeholders), else "".
func systemUUID(u string) string {
	u = strings.ToLower(strings.TrimSpace(u))
	if len(u) != 36 {
		return ""
	}
	zero, ff := true, true
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return ""
			}
			continue
		}
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return ""
		}
		zero = zero && c == '0'
		ff = ff && c == 'f'
	}
	if zero || ff {
		return ""
	}
	return u
}

// networkFS are file system types of remote shares, left out of the disk
// totals.
var networkFS = map[string]bool{"nfs": true, "nfs4": true, "cifs": true, "smbfs": true, "smb3": true,
	"afpfs": true, "fuse.sshfs": true, "davfs": true, "webdav": true, "9p": true, "ceph": true, "glusterfs": true}

// diskFacts sums the local partitions of a disks section, each device once
// (a device mounted at several places counts once).
func diskFacts(data []byte) *Facts {
	var d struct {
		Error      string `json:"error"`
		Partitions *[]struct {
			Device     string `json:"device"`
			Mountpoint string `json:"mountpoint"`
			Fstype     string `json:"fstype"`
			TotalBytes uint64 `json:"total_bytes"`
			FreeBytes  uint64 `json:"free_bytes"`
			Error      string `json:"error"`
		} `json:"partitions"`
	}
	if !decodeObject(data, &d) || d.Error != "" || d.Partitions == nil {
		return nil
	}
	f := &Facts{}
	seen := map[string]bool{}
	for _, p := range *d.Partitions {
		dev := p.Device
		if dev == "" {
			dev = p.Mountpoint
		}
		if p.Error != "" || p.TotalBytes == 0 || seen[dev] || networkFS[strings.ToLower(p.Fstype)] || strings.HasPrefix(dev, `\\`) {
			continue
		}
		seen[dev] = true
		f.DiskTotalBytes = satAdd(f.DiskTotalBytes, clampInt(p.TotalBytes))
		f.DiskFreeBytes = satAdd(f.DiskFreeBytes, clampInt(min(p.FreeBytes, p.TotalBytes)))
	}
	return f
}

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// softwareEntry is one entry of the agent's software section (only the
// fields the server indexes).
type softwareEntry struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Publisher string `json:"publisher"`
	Arch      string `json:"arch"`
	Source    string `json:"source"`
}

// softwareFacts derives the software rows: entries without a name are
// skipped, identical ones kept once.
func softwareFacts(data []byte) (*Facts, error) {
	d := bytes.TrimSpace(data)
	if len(d) == 0 || d[0] != '[' {
		return nil, nil
	}
	var entries []softwareEntry
	if json.Unmarshal(d, &entries) != nil {
		return nil, nil
	}
	if len(entries) > MaxSoftwareRows {
		return nil, fmt.Errorf("%w: %d software entries, more than %d", ErrInvalid, len(entries), MaxSoftwareRows)
	}
	type key struct{ name, version, publisher, arch, source string }
	seen := make(map[key]bool, len(entries))
	rows := make([]SoftwareRow, 0, len(entries))
	for _, e := range entries {
		k := key{fact(e.Name), fact(e.Version), fact(e.Publisher), fact(e.Arch), fact(e.Source)}
		if k.name == "" || seen[k] {
			continue
		}
		seen[k] = true
		rows = append(rows, SoftwareRow{Name: k.name, Version: k.version, Publisher: k.publisher, Arch: k.arch, Source: k.source,
			NameKey: strings.ToLower(k.name), VersionKey: SoftwareVersionKey(k.version)})
	}
	return &Facts{Software: rows}, nil
}
