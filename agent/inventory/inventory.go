// Package inventory collects the hardware and software inventory of the
// endpoint as named JSON sections (host, dmi, cpu, memory, disks, network,
// software). The agent sends all sections at registration and then only the
// sections whose Hash changed, so section data is deterministic for an
// unchanged machine: volatile values (uptime, available memory) are left out
// and disk free space is rounded to MiB.
//
// Hardware comes from gopsutil; DMI/SMBIOS data and software come from
// per-OS collectors (sysfs and dpkg/rpm on Linux, CIM and the Uninstall
// registry keys on Windows, ioreg, application bundles and pkgutil on macOS).
// The parsers of those sources are pure functions, tested on every OS.
package inventory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Section names.
const (
	SectionHost     = "host"     // hostname, fqdn, os name/version/kernel/platform/arch, boot time, logged-in users
	SectionDMI      = "dmi"      // bios vendor/version/date, system manufacturer, model, serial, system uuid, board, chassis
	SectionCPU      = "cpu"      // model, vendor, physical cores, logical cores, mhz
	SectionMemory   = "memory"   // total bytes, swap total bytes
	SectionDisks    = "disks"    // partitions: device, mountpoint, fstype, total, free (pseudo filesystems skipped)
	SectionNetwork  = "network"  // interfaces: name, mac, addresses (CIDR), flags; loopback skipped
	SectionSoftware = "software" // []Software
)

// allSections is every section name, sorted.
var allSections = []string{SectionCPU, SectionDisks, SectionDMI, SectionHost, SectionMemory, SectionNetwork, SectionSoftware}

// Bounds on what the collectors read and keep.
const (
	maxFileSize    = 1 << 20  // one file read by a collector
	maxOutput      = 64 << 20 // one command's stdout
	maxSoftware    = 100_000  // software entries in one section
	maxField       = 1024     // bytes kept of one string field
	maxStderr      = 4 << 10  // bytes of a failed command's stderr kept in its error
	runTimeoutSecs = 60       // default Runner timeout
)

// ErrNoUUID is returned (wrapped) by SystemUUID when the machine has no
// usable DMI/SMBIOS UUID.
var ErrNoUUID = errors.New("no valid system UUID")

// ErrUnknownSection is returned (wrapped) by Collect for a section name it
// does not know.
var ErrUnknownSection = errors.New("unknown inventory section")

// Software is one installed product or package.
type Software struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	Publisher   string `json:"publisher,omitempty"`
	Arch        string `json:"arch,omitempty"`
	Source      string `json:"source"`                 // "dpkg", "rpm", "msi-registry", "registry", "app-bundle", "pkgutil"
	Key         string `json:"key,omitempty"`          // uninstall key / package id
	InstallDate string `json:"install_date,omitempty"` // YYYY-MM-DD when known
	Scope       string `json:"scope,omitempty"`        // "machine" or "user:<sid>" on Windows; empty elsewhere
	// Note says why an entry is incomplete (an unreadable bundle plist, a
	// failed pkgutil query); it is empty for a normal entry.
	Note string `json:"note,omitempty"`
}

// Software sources.
const (
	SourceDpkg        = "dpkg"
	SourceRpm         = "rpm"
	SourceMSIRegistry = "msi-registry"
	SourceRegistry    = "registry"
	SourceAppBundle   = "app-bundle"
	SourcePkgutil     = "pkgutil"
)

// Section is one collected section: Data is JSON; Err is set when the
// collector failed (then Data is {"error": "..."} so the failure is reported
// in its section and the rest still sent).
type Section struct {
	Name string
	Data json.RawMessage
	Err  error
}

// runner is the type of Options.Runner.
type runner = func(ctx context.Context, name string, args ...string) ([]byte, error)

// Options tune a collection.
type Options struct {
	// Runner runs an external command and returns its stdout (bounded to
	// 64 MiB); nil → exec with a 60 s timeout. Tests inject a fake. A
	// missing command should give an error wrapping exec.ErrNotFound.
	Runner func(ctx context.Context, name string, args ...string) ([]byte, error)
	// Sections to collect; nil or empty → all.
	Sections []string
	// Root is the filesystem root for file-based collectors
	// (/sys/class/dmi/id, /etc/os-release, /Applications); "" → "/".
	Root string
}

// env is what collectors get: the resolved options.
type env struct {
	run  runner
	root string
}

func newEnv(opt Options) *env {
	e := &env{run: execRunner, root: opt.Root}
	if run := opt.Runner; run != nil {
		// Hold an injected runner to the same output bound as execRunner.
		e.run = func(ctx context.Context, name string, args ...string) ([]byte, error) {
			out, err := run(ctx, name, args...)
			if len(out) > maxOutput {
				return nil, fmt.Errorf("run %s: output exceeds %d bytes", name, maxOutput)
			}
			return out, err
		}
	}
	if e.root == "" {
		e.root = "/"
	}
	return e
}

// collector gathers one section's value, which is then encoded as JSON.
type collector func(ctx context.Context, e *env) (any, error)

// collectorFor returns the collector of a section, or nil.
func collectorFor(name string) collector {
	switch name {
	case SectionHost:
		return collectHost
	case SectionDMI:
		return func(ctx context.Context, e *env) (any, error) { return collectDMI(ctx, e) }
	case SectionCPU:
		return collectCPU
	case SectionMemory:
		return collectMemory
	case SectionDisks:
		return collectDisks
	case SectionNetwork:
		return collectNetwork
	case SectionSoftware:
		return func(ctx context.Context, e *env) (any, error) { return collectSoftware(ctx, e) }
	}
	return nil
}

// Collect gathers the requested sections concurrently and returns them
// sorted by name. It fails only when ctx ends or a section name is unknown;
// a failing collector is reported in its own Section.
func Collect(ctx context.Context, opt Options) ([]Section, error) {
	names, err := sectionNames(opt.Sections)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e := newEnv(opt)
	secs := make([]Section, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() { secs[i] = collectOne(ctx, e, name) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return secs, nil
}

// sectionNames validates, de-duplicates and sorts the requested names.
func sectionNames(req []string) ([]string, error) {
	if len(req) == 0 {
		return slices.Clone(allSections), nil
	}
	names := slices.Clone(req)
	slices.Sort(names)
	names = slices.Compact(names)
	for _, n := range names {
		if collectorFor(n) == nil {
			return nil, fmt.Errorf("%w: %q", ErrUnknownSection, n)
		}
	}
	return names, nil
}

// collectOne runs one collector, turning its failure or panic into the
// section's error.
func collectOne(ctx context.Context, e *env, name string) (sec Section) {
	sec.Name = name
	defer func() {
		if r := recover(); r != nil {
			sec = failed(name, fmt.Errorf("collector panicked: %v", r))
		}
	}()
	v, err := collectorFor(name)(ctx, e)
	if err != nil {
		return failed(name, err)
	}
	data, err := encode(v)
	if err != nil {
		return failed(name, fmt.Errorf("encode: %w", err))
	}
	sec.Data = data
	return sec
}

// failed is the section reporting err.
func failed(name string, err error) Section {
	data, _ := encode(map[string]string{"error": err.Error()})
	return Section{Name: name, Data: data, Err: fmt.Errorf("inventory %s: %w", name, err)}
}

// encode marshals v as compact JSON, deterministic for equal values, in
// the form encoding/json gives when it marshals a json.RawMessage again
// (HTML characters escaped): the bytes the server receives, and hashes,
// are the bytes hashed here.
func encode(v any) (json.RawMessage, error) {
	var b jsonBuffer
	enc := json.NewEncoder(&b)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return json.RawMessage(b.trimmed()), nil
}

type jsonBuffer struct{ buf []byte }

func (b *jsonBuffer) Write(p []byte) (int, error) { b.buf = append(b.buf, p...); return len(p), nil }
func (b *jsonBuffer) trimmed() []byte {
	if n := len(b.buf); n > 0 && b.buf[n-1] == '\n' {
		return b.buf[:n-1]
	}
	return b.buf
}

// Hash is the lowercase hex SHA-256 of data: the section hash sent to the
// server.
func Hash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Map indexes sections by name.
func Map(secs []Section) map[string]json.RawMessage {
	m := make(map[string]json.RawMessage, len(secs))
	for _, s := range secs {
		m[s.Name] = s.Data
	}
	return m
}

// SystemUUID returns the DMI/SMBIOS system UUID, lowercase, when it is a
// real one: parseable, not all-zero or all-F, not a known firmware
// placeholder. Otherwise the error wraps ErrNoUUID.
func SystemUUID(ctx context.Context, opt Options) (string, error) {
	d, err := collectDMI(ctx, newEnv(opt))
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNoUUID, err)
	}
	if d.rawUUID == "" {
		if slices.Contains(d.Unreadable, "uuid") {
			return "", fmt.Errorf("%w: system uuid not readable (permission denied)", ErrNoUUID)
		}
		return "", fmt.Errorf("%w: none reported", ErrNoUUID)
	}
	u, ok := validUUID(d.rawUUID)
	if !ok {
		return "", fmt.Errorf("%w: %q is not a usable uuid", ErrNoUUID, clean(d.rawUUID))
	}
	return u, nil
}
