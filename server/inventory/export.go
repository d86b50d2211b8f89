package inventory

import (
	"context"
	"fmt"
	"time"

	"github.com/wapt-go/wapt/shared/wire"
)

// HostExport is one host of an export: its summary, when its inventory
// last changed, and its software.
type HostExport struct {
	Summary wire.HostSummary
	// InventoryUpdated is when a section of the host last changed.
	InventoryUpdated time.Time
	// Software is sorted by name (nil unless asked for).
	Software []SoftwareRow
}

// ExportHosts calls fn for every host matching q (Offset, Limit and Sort
// are ignored: all matching hosts, by hostname), with its software when
// withSoftware. q is validated before fn is first called, so an ErrInvalid
// comes before any output. An error of fn stops the export and is
// returned.
func (s *Service) ExportHosts(ctx context.Context, q Query, withSoftware bool, fn func(HostExport) error) error {
	q.Offset, q.Limit, q.Sort, q.Desc = 0, 0, "", false
	hf, err := q.filter()
	if err != nil {
		return fmt.Errorf("export hosts: %w", err)
	}
	if err := s.st.ExportHosts(ctx, hf, withSoftware, fn); err != nil {
		return fmt.Errorf("export hosts: %w", err)
	}
	return nil
}

const mib = 1 << 20

// GLPI returns e with GLPI's field names (sizes in MiB).
func (e HostExport) GLPI() wire.HostExport {
	s := e.Summary
	x := wire.HostExport{
		Name: s.Hostname, FQDN: s.FQDN, WAPTUUID: s.UUID,
		OperatingSystem: s.OS, OperatingSystemVersion: s.OSVersion,
		LastInventoryUpdate: e.InventoryUpdated, LastSeen: s.LastSeen, Status: s.Status, Unit: s.Unit,
		DuplicateSystemUUID: s.DuplicateSystemUUID,
		Softwares:           make([]wire.ExportSoftware, 0, len(e.Software)),
	}
	if h := s.Hardware; h != nil {
		x.UUID, x.Serial, x.Manufacturer, x.ComputerModel = h.SystemUUID, h.Serial, h.Manufacturer, h.Model
		x.CPU, x.Memory, x.DiskTotal = h.CPU, h.RAMBytes/mib, h.DiskTotalBytes/mib
		if h.DiskFreeBytes != nil {
			free := *h.DiskFreeBytes / mib
			x.DiskFree = &free
		}
		if h.OSName != "" {
			x.OperatingSystem = h.OSName
		}
		x.OperatingSystemKernelVersion = h.Kernel
	}
	for _, r := range e.Software {
		x.Softwares = append(x.Softwares, wire.ExportSoftware{Name: r.Name, Version: r.Version, Publisher: r.Publisher})
	}
	return x
}
