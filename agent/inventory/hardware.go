package inventory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/mem"
	gnet "github.com/shirou/gopsutil/v4/net"
)

// hostInfo is the "host" section. Uptime is left out on purpose: it would
// change the section's hash at every report; boot_time says the same.
type hostInfo struct {
	Hostname           string     `json:"hostname"`
	FQDN               string     `json:"fqdn"`
	OS                 string     `json:"os"`                        // linux, windows, darwin
	OSName             string     `json:"os_name,omitempty"`         // "Debian GNU/Linux 12 (bookworm)", "Microsoft Windows 11 Pro"
	OSVersion          string     `json:"os_version,omitempty"`      // "12", "10.0.22631 Build 22631.4460", "14.5"
	Platform           string     `json:"platform,omitempty"`        // debian, ubuntu, Microsoft Windows 11 Pro, darwin
	PlatformFamily     string     `json:"platform_family,omitempty"` // debian, rhel, Standalone Workstation
	KernelVersion      string     `json:"kernel_version,omitempty"`
	KernelArch         string     `json:"kernel_arch,omitempty"` // x86_64, aarch64
	Arch               string     `json:"arch,omitempty"`        // x64, x86, arm64, arm
	Virtualization     string     `json:"virtualization,omitempty"`
	VirtualizationRole string     `json:"virtualization_role,omitempty"` // host, guest
	BootTime           string     `json:"boot_time,omitempty"`           // RFC 3339 UTC, to the minute
	Users              []hostUser `json:"users"`
}

// hostUser is one logged-in session.
type hostUser struct {
	User     string `json:"user"`
	Terminal string `json:"terminal,omitempty"`
	Host     string `json:"host,omitempty"`
	Started  string `json:"started,omitempty"` // RFC 3339 UTC
}

func collectHost(ctx context.Context, e *env) (any, error) {
	name, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("hostname: %w", err)
	}
	h := hostInfo{Hostname: clean(name), OS: runtime.GOOS, Users: []hostUser{}}
	h.FQDN = fqdn(ctx, h.Hostname)
	if p, fam, ver, err := host.PlatformInformationWithContext(ctx); err == nil {
		h.Platform, h.PlatformFamily, h.OSVersion = clean(p), clean(fam), clean(ver)
	}
	if k, err := host.KernelVersionWithContext(ctx); err == nil {
		h.KernelVersion = clean(k)
	}
	if a, err := host.KernelArch(); err == nil {
		h.KernelArch = clean(a)
	}
	h.Arch = archName(cmp.Or(h.KernelArch, runtime.GOARCH))
	if sys, role, err := host.VirtualizationWithContext(ctx); err == nil {
		h.Virtualization, h.VirtualizationRole = clean(sys), clean(role)
	}
	if bt, err := host.BootTimeWithContext(ctx); err == nil && bt > 0 && bt < math.MaxInt64 {
		// Boot time is computed from the clock minus the uptime and jitters
		// by a second or so; to the minute keeps the hash stable.
		h.BootTime = time.Unix(int64(bt), 0).UTC().Round(time.Minute).Format(time.RFC3339)
	}
	h.OSName = osName(e, h)
	if users, err := loggedInUsers(ctx); err == nil {
		h.Users = users
	}
	return h, nil
}

// fqdn returns the host's fully qualified name: the hostname when it has
// dots, else its DNS canonical name when that has dots, else the hostname.
func fqdn(ctx context.Context, name string) string {
	if strings.Contains(name, ".") || name == "" {
		return strings.ToLower(name)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if cname, err := net.DefaultResolver.LookupCNAME(ctx, name); err == nil {
		if c := strings.TrimSuffix(cname, "."); strings.Contains(c, ".") {
			return strings.ToLower(clean(c))
		}
	}
	return strings.ToLower(name)
}

// usersFromStats converts gopsutil's sessions, sorted and de-duplicated.
func usersFromStats(stats []host.UserStat) []hostUser {
	users := make([]hostUser, 0, len(stats))
	for _, s := range stats {
		u := hostUser{User: clean(s.User), Terminal: clean(s.Terminal), Host: clean(s.Host)}
		if u.User == "" {
			continue
		}
		if s.Started > 0 {
			u.Started = time.Unix(int64(s.Started), 0).UTC().Format(time.RFC3339)
		}
		users = append(users, u)
	}
	return sortUsers(users)
}

func sortUsers(users []hostUser) []hostUser {
	slices.SortFunc(users, func(a, b hostUser) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Terminal, b.Terminal),
			cmp.Compare(a.Host, b.Host), cmp.Compare(a.Started, b.Started))
	})
	if len(users) > 1000 {
		users = users[:1000]
	}
	return slices.Compact(users)
}

// cpuInfo is the "cpu" section.
type cpuInfo struct {
	Model         string `json:"model"`
	Vendor        string `json:"vendor,omitempty"`
	PhysicalCores int    `json:"physical_cores"`
	LogicalCores  int    `json:"logical_cores"`
	MHz           int    `json:"mhz,omitempty"` // maximum rated frequency where the OS tells it
}

func collectCPU(ctx context.Context, _ *env) (any, error) {
	infos, err := cpu.InfoWithContext(ctx)
	if err != nil && len(infos) == 0 {
		return nil, fmt.Errorf("cpu info: %w", err)
	}
	var c cpuInfo
	mhz := 0.0
	for _, i := range infos {
		if c.Model == "" {
			c.Model = clean(i.ModelName)
		}
		if c.Vendor == "" {
			c.Vendor = clean(i.VendorID)
		}
		mhz = max(mhz, i.Mhz)
	}
	if mhz > 0 && mhz < 1e6 {
		c.MHz = int(math.Round(mhz))
	}
	if n, err := cpu.CountsWithContext(ctx, false); err == nil {
		c.PhysicalCores = n
	}
	if n, err := cpu.CountsWithContext(ctx, true); err == nil {
		c.LogicalCores = n
	}
	if c.LogicalCores == 0 {
		c.LogicalCores = runtime.NumCPU()
	}
	return c, nil
}

// memInfo is the "memory" section. Available memory is left out on
// purpose: it changes all the time and would defeat the section hash.
type memInfo struct {
	TotalBytes     uint64 `json:"total_bytes"`
	SwapTotalBytes uint64 `json:"swap_total_bytes"`
}

func collectMemory(ctx context.Context, _ *env) (any, error) {
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("virtual memory: %w", err)
	}
	m := memInfo{TotalBytes: vm.Total}
	if sw, err := mem.SwapMemoryWithContext(ctx); err == nil {
		m.SwapTotalBytes = sw.Total
	}
	return m, nil
}

// disksInfo is the "disks" section.
type disksInfo struct {
	Partitions []partition `json:"partitions"`
}

type partition struct {
	Device     string `json:"device"`
	Mountpoint string `json:"mountpoint"`
	Fstype     string `json:"fstype"`
	TotalBytes uint64 `json:"total_bytes"`
	FreeBytes  uint64 `json:"free_bytes"` // rounded down to MiB
	Error      string `json:"error,omitempty"`
}

const (
	maxPartitions = 1000
	usageTimeout  = 10 * time.Second // a hung network mount must not stall the inventory
)

func collectDisks(ctx context.Context, _ *env) (any, error) {
	parts, err := disk.PartitionsWithContext(ctx, true)
	if err != nil && len(parts) == 0 {
		return nil, fmt.Errorf("partitions: %w", err)
	}
	d := disksInfo{Partitions: []partition{}}
	seen := map[string]bool{}
	for _, p := range parts {
		if !keepPartition(p.Fstype, p.Mountpoint) || seen[p.Mountpoint] || len(d.Partitions) >= maxPartitions {
			continue
		}
		if fi, err := os.Stat(p.Mountpoint); err == nil && !fi.IsDir() {
			continue // a file bind-mounted by a container runtime (/etc/hosts)
		}
		seen[p.Mountpoint] = true
		d.Partitions = append(d.Partitions, partitionUsage(ctx, partition{
			Device: clean(p.Device), Mountpoint: clean(p.Mountpoint), Fstype: clean(p.Fstype),
		}))
	}
	slices.SortFunc(d.Partitions, func(a, b partition) int {
		return cmp.Or(cmp.Compare(a.Mountpoint, b.Mountpoint), cmp.Compare(a.Device, b.Device))
	})
	return d, nil
}

// partitionUsage fills in the sizes, giving up after usageTimeout.
func partitionUsage(ctx context.Context, p partition) partition {
	type result struct {
		u   *disk.UsageStat
		err error
	}
	ch := make(chan result, 1)
	go func() {
		u, err := disk.UsageWithContext(ctx, p.Mountpoint)
		ch <- result{u, err}
	}()
	t := time.NewTimer(usageTimeout)
	defer t.Stop()
	select {
	case r := <-ch:
		if r.err != nil {
			p.Error = clean(r.err.Error())
		} else if r.u != nil {
			p.TotalBytes = r.u.Total
			p.FreeBytes = r.u.Free &^ (1<<20 - 1)
		}
	case <-t.C:
		p.Error = "usage: timed out"
	case <-ctx.Done():
		p.Error = "usage: " + ctx.Err().Error()
	}
	return p
}

// networkInfo is the "network" section.
type networkInfo struct {
	Interfaces []netInterface `json:"interfaces"`
}

type netInterface struct {
	Name      string   `json:"name"`
	MAC       string   `json:"mac,omitempty"`
	Addresses []string `json:"addresses"` // CIDR
	Flags     []string `json:"flags"`
	MTU       int      `json:"mtu,omitempty"`
}

const maxInterfaces = 1000

func collectNetwork(ctx context.Context, _ *env) (any, error) {
	ifs, err := gnet.InterfacesWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("interfaces: %w", err)
	}
	n := networkInfo{Interfaces: []netInterface{}}
	for _, i := range ifs {
		if slices.Contains(i.Flags, "loopback") || len(n.Interfaces) >= maxInterfaces {
			continue
		}
		ni := netInterface{
			Name: clean(i.Name), MAC: strings.ToLower(clean(i.HardwareAddr)), MTU: i.MTU,
			Addresses: make([]string, 0, len(i.Addrs)), Flags: make([]string, 0, len(i.Flags)),
		}
		for _, a := range i.Addrs {
			ni.Addresses = append(ni.Addresses, clean(a.Addr))
		}
		for _, f := range i.Flags {
			ni.Flags = append(ni.Flags, clean(f))
		}
		slices.Sort(ni.Addresses)
		slices.Sort(ni.Flags)
		n.Interfaces = append(n.Interfaces, ni)
	}
	slices.SortFunc(n.Interfaces, func(a, b netInterface) int { return cmp.Compare(a.Name, b.Name) })
	return n, nil
}

// errUnsupported is returned by collectors with no implementation on this
// OS.
var errUnsupported = errors.New("not supported on " + runtime.GOOS)
