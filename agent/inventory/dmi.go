package inventory

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// dmiInfo is the "dmi" section: BIOS, system, board and chassis identity
// from DMI/SMBIOS. Field names follow GLPI where it has one.
type dmiInfo struct {
	Manufacturer    string `json:"manufacturer,omitempty"`
	Model           string `json:"model,omitempty"`
	ProductVersion  string `json:"product_version,omitempty"`
	Family          string `json:"family,omitempty"`
	SKU             string `json:"sku,omitempty"`
	Serial          string `json:"serial,omitempty"`
	UUID            string `json:"uuid,omitempty"` // lowercase; only when valid (see SystemUUID)
	BIOSVendor      string `json:"bios_vendor,omitempty"`
	BIOSVersion     string `json:"bios_version,omitempty"`
	BIOSDate        string `json:"bios_date,omitempty"` // YYYY-MM-DD
	BoardVendor     string `json:"board_vendor,omitempty"`
	BoardName       string `json:"board_name,omitempty"`
	BoardVersion    string `json:"board_version,omitempty"`
	BoardSerial     string `json:"board_serial,omitempty"`
	ChassisVendor   string `json:"chassis_vendor,omitempty"`
	ChassisType     string `json:"chassis_type,omitempty"` // SMBIOS name: "Notebook", "Desktop", …
	ChassisSerial   string `json:"chassis_serial,omitempty"`
	ChassisAssetTag string `json:"chassis_asset_tag,omitempty"`
	// Unreadable lists the fields (JSON names) the agent had no permission
	// to read, e.g. serial and uuid when not running as root on Linux.
	Unreadable []string `json:"unreadable,omitempty"`

	rawUUID string // as reported, before validation
}

// setUUID records the reported UUID and keeps it in the section when valid.
func (d *dmiInfo) setUUID(raw string) {
	d.rawUUID = strings.TrimSpace(raw)
	d.UUID, _ = validUUID(d.rawUUID)
}

// sysfsDMI maps /sys/class/dmi/id file names to dmiInfo fields.
var sysfsDMI = []struct {
	file, key string
	set       func(d *dmiInfo, v string)
}{
	{"sys_vendor", "manufacturer", func(d *dmiInfo, v string) { d.Manufacturer = cleanDMI(v) }},
	{"product_name", "model", func(d *dmiInfo, v string) { d.Model = cleanDMI(v) }},
	{"product_version", "product_version", func(d *dmiInfo, v string) { d.ProductVersion = cleanDMI(v) }},
	{"product_family", "family", func(d *dmiInfo, v string) { d.Family = cleanDMI(v) }},
	{"product_sku", "sku", func(d *dmiInfo, v string) { d.SKU = cleanDMI(v) }},
	{"product_serial", "serial", func(d *dmiInfo, v string) { d.Serial = cleanDMI(v) }},
	{"product_uuid", "uuid", func(d *dmiInfo, v string) { d.setUUID(v) }},
	{"bios_vendor", "bios_vendor", func(d *dmiInfo, v string) { d.BIOSVendor = cleanDMI(v) }},
	{"bios_version", "bios_version", func(d *dmiInfo, v string) { d.BIOSVersion = cleanDMI(v) }},
	{"bios_date", "bios_date", func(d *dmiInfo, v string) { d.BIOSDate = normDate(v) }},
	{"board_vendor", "board_vendor", func(d *dmiInfo, v string) { d.BoardVendor = cleanDMI(v) }},
	{"board_name", "board_name", func(d *dmiInfo, v string) { d.BoardName = cleanDMI(v) }},
	{"board_version", "board_version", func(d *dmiInfo, v string) { d.BoardVersion = cleanDMI(v) }},
	{"board_serial", "board_serial", func(d *dmiInfo, v string) { d.BoardSerial = cleanDMI(v) }},
	{"chassis_vendor", "chassis_vendor", func(d *dmiInfo, v string) { d.ChassisVendor = cleanDMI(v) }},
	{"chassis_type", "chassis_type", func(d *dmiInfo, v string) { d.ChassisType = chassisName(v) }},
	{"chassis_serial", "chassis_serial", func(d *dmiInfo, v string) { d.ChassisSerial = cleanDMI(v) }},
	{"chassis_asset_tag", "chassis_asset_tag", func(d *dmiInfo, v string) { d.ChassisAssetTag = cleanDMI(v) }},
}

// readDMI reads the Linux sysfs DMI directory (/sys/class/dmi/id) given as
// fsys. Files the agent may not read (serials and uuid are root-only) are
// listed in Unreadable; it fails only when no DMI file exists at all.
func readDMI(fsys fs.FS) (dmiInfo, error) {
	var d dmiInfo
	found := false
	for _, f := range sysfsDMI {
		b, err := readLimited(fsys, f.file, maxFileSize)
		switch {
		case err == nil:
			found = true
			f.set(&d, string(b))
		case errors.Is(err, fs.ErrNotExist):
		default: // permission denied (root-only file) or an I/O error
			found = true
			d.Unreadable = append(d.Unreadable, f.key)
		}
	}
	if !found {
		return d, fmt.Errorf("no DMI data: %w", fs.ErrNotExist)
	}
	return d, nil
}

// readLimited reads a file of fsys, failing when it is larger than max.
func readLimited(fsys fs.FS, name string, max int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, max)
	}
	return b, nil
}
