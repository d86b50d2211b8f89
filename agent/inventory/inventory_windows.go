package inventory

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/shirou/gopsutil/v4/host"
	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// dmiScript prints the DMI facts as Key=Value lines (see dmiFromCim), one
// PowerShell start for all the CIM classes.
const dmiScript = `$ErrorActionPreference = 'SilentlyContinue'
try { [Console]::OutputEncoding = [Text.UTF8Encoding]::new($false) } catch {}
$csp = Get-CimInstance Win32_ComputerSystemProduct | Select-Object -First 1
$cs = Get-CimInstance Win32_ComputerSystem | Select-Object -First 1
$bios = Get-CimInstance Win32_BIOS | Select-Object -First 1
$bb = Get-CimInstance Win32_BaseBoard | Select-Object -First 1
$enc = Get-CimInstance Win32_SystemEnclosure | Select-Object -First 1
$rd = ''
if ($bios.ReleaseDate) { $rd = $bios.ReleaseDate.ToString('yyyy-MM-dd') }
$o = [ordered]@{
  UUID = $csp.UUID; Vendor = $csp.Vendor; Name = $csp.Name; IdentifyingNumber = $csp.IdentifyingNumber
  Version = $csp.Version; SKUNumber = $csp.SKUNumber
  Manufacturer = $cs.Manufacturer; Model = $cs.Model; SystemFamily = $cs.SystemFamily; SystemSKUNumber = $cs.SystemSKUNumber
  BIOSManufacturer = $bios.Manufacturer; BIOSVersion = $bios.SMBIOSBIOSVersion; BIOSReleaseDate = $rd; BIOSSerial = $bios.SerialNumber
  BoardManufacturer = $bb.Manufacturer; BoardProduct = $bb.Product; BoardVersion = $bb.Version; BoardSerial = $bb.SerialNumber
  ChassisManufacturer = $enc.Manufacturer; ChassisTypes = ($enc.ChassisTypes -join ','); ChassisSerial = $enc.SerialNumber; ChassisAssetTag = $enc.SMBIOSAssetTag
}
foreach ($k in $o.Keys) { $k + '=' + (($o[$k] -as [string]) -replace '[\r\n]+', ' ') }
`

// encodedCommand is s for powershell -EncodedCommand (base64 of UTF-16LE),
// which sidesteps command-line quoting.
func encodedCommand(s string) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i], b[2*i+1] = byte(c), byte(c>>8)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// collectDMI queries CIM through PowerShell, falls back to wmic, and fills
// what is still missing from HKLM\HARDWARE\DESCRIPTION\System\BIOS.
func collectDMI(ctx context.Context, e *env) (dmiInfo, error) {
	var errs []error
	rec, err := cimDMI(ctx, e.run)
	if err != nil {
		errs = append(errs, err)
		if rec, err = wmicDMI(ctx, e.run); err != nil {
			errs = append(errs, err)
		}
	}
	if rec == nil {
		rec = map[string]string{}
	}
	if err := registryDMI(rec); err != nil {
		errs = append(errs, err)
	}
	if len(rec) == 0 {
		return dmiInfo{}, errors.Join(errs...)
	}
	return dmiFromCim(rec), nil
}

func cimDMI(ctx context.Context, run runner) (map[string]string, error) {
	out, err := run(ctx, "powershell", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass",
		"-EncodedCommand", encodedCommand(dmiScript))
	if err != nil {
		return nil, fmt.Errorf("powershell Get-CimInstance: %w", err)
	}
	recs := parseWmicOrCim(out)
	if len(recs) == 0 {
		return nil, errors.New("powershell Get-CimInstance: no output")
	}
	return recs[0], nil
}

// wmicDMI is the fallback for systems without PowerShell; wmic's BIOS keys
// are renamed to the ones the script prints.
func wmicDMI(ctx context.Context, run runner) (map[string]string, error) {
	out, err := run(ctx, "wmic", "csproduct", "get", "IdentifyingNumber,Name,UUID,Vendor,Version", "/format:list")
	if err != nil {
		return nil, fmt.Errorf("wmic csproduct: %w", err)
	}
	recs := parseWmicOrCim(out)
	if len(recs) == 0 {
		return nil, errors.New("wmic csproduct: no output")
	}
	rec := recs[0]
	if out, err := run(ctx, "wmic", "bios", "get", "Manufacturer,ReleaseDate,SerialNumber,SMBIOSBIOSVersion", "/format:list"); err == nil {
		if b := parseWmicOrCim(out); len(b) > 0 {
			for from, to := range map[string]string{
				"Manufacturer": "BIOSManufacturer", "ReleaseDate": "BIOSReleaseDate",
				"SerialNumber": "BIOSSerial", "SMBIOSBIOSVersion": "BIOSVersion",
			} {
				rec[to] = b[0][from]
			}
		}
	}
	return rec, nil
}

// registryDMI fills the empty keys of rec from the BIOS registry key, which
// Windows writes at boot from SMBIOS (no serial or uuid there).
func registryDMI(rec map[string]string) error {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `HARDWARE\DESCRIPTION\System\BIOS`, registry.QUERY_VALUE)
	if err != nil {
		return fmt.Errorf("registry BIOS key: %w", err)
	}
	defer k.Close()
	for value, key := range map[string]string{
		"BIOSVendor": "BIOSManufacturer", "BIOSVersion": "BIOSVersion", "BIOSReleaseDate": "BIOSReleaseDate",
		"SystemManufacturer": "Manufacturer", "SystemProductName": "Model", "SystemFamily": "SystemFamily",
		"SystemSKU": "SystemSKUNumber", "SystemVersion": "Version",
		"BaseBoardManufacturer": "BoardManufacturer", "BaseBoardProduct": "BoardProduct", "BaseBoardVersion": "BoardVersion",
	} {
		if rec[key] != "" {
			continue
		}
		if v := regString(k, value); v != "" {
			rec[key] = v
		}
	}
	return nil
}

const uninstallKey = `Microsoft\Windows\CurrentVersion\Uninstall`

// collectSoftware reads the Uninstall keys: HKLM in the 64-bit and 32-bit
// (Wow6432Node) views, and HKU\<sid> of every loaded user hive.
func collectSoftware(ctx context.Context, e *env) ([]Software, error) {
	native := "x64"
	if a, err := host.KernelArch(); err == nil {
		native = archName(a)
	}
	all := []Software{}
	var errs []error
	answered := false
	read := func(root registry.Key, path string, access uint32, view, scope string) {
		sw, err := readUninstall(ctx, root, path, access, view, native, scope)
		switch {
		case err == nil:
			answered = true
			all = append(all, sw...)
		case !errors.Is(err, registry.ErrNotExist):
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
		}
	}
	read(registry.LOCAL_MACHINE, `SOFTWARE\`+uninstallKey, registry.WOW64_64KEY, "64", "machine")
	read(registry.LOCAL_MACHINE, `SOFTWARE\`+uninstallKey, registry.WOW64_32KEY, "32", "machine")
	sids, err := userHives()
	if err != nil {
		errs = append(errs, err)
	}
	for _, sid := range sids {
		read(registry.USERS, sid+`\SOFTWARE\`+uninstallKey, 0, "", "user:"+sid)
		read(registry.USERS, sid+`\SOFTWARE\Wow6432Node\`+uninstallKey, 0, "", "user:"+sid)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !answered {
		return nil, fmt.Errorf("no uninstall key readable: %w", errors.Join(errs...))
	}
	if len(all) > maxSoftware {
		return nil, errTooMany
	}
	return sortSoftware(all), nil
}

// readUninstall reads the entries under one Uninstall key.
func readUninstall(ctx context.Context, root registry.Key, path string, access uint32, view, native, scope string) ([]Software, error) {
	k, err := registry.OpenKey(root, path, registry.ENUMERATE_SUB_KEYS|registry.QUERY_VALUE|access)
	if err != nil {
		return nil, err
	}
	defer k.Close()
	names, err := k.ReadSubKeyNames(maxSoftware + 1)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(names) > maxSoftware {
		return nil, errTooMany
	}
	var sw []Software
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sk, err := registry.OpenKey(k, n, registry.QUERY_VALUE|access)
		if err != nil {
			continue
		}
		e := regEntry{
			Key: n, View: view, NativeArch: native, Scope: scope,
			DisplayName:      regString(sk, "DisplayName"),
			DisplayVersion:   regString(sk, "DisplayVersion"),
			Publisher:        regString(sk, "Publisher"),
			InstallDate:      regString(sk, "InstallDate"),
			ParentKeyName:    regString(sk, "ParentKeyName"),
			ReleaseType:      regString(sk, "ReleaseType"),
			SystemComponent:  regInt(sk, "SystemComponent"),
			WindowsInstaller: regInt(sk, "WindowsInstaller"),
		}
		sk.Close()
		if s, ok := softwareFromRegistry(e); ok {
			sw = append(sw, s)
		}
	}
	return sw, nil
}

// regString reads a string value (an integer one is formatted), "" when
// absent.
func regString(k registry.Key, name string) string {
	v, _, err := k.GetStringValue(name)
	if err == nil {
		return clean(v)
	}
	if errors.Is(err, registry.ErrUnexpectedType) {
		if n, _, err := k.GetIntegerValue(name); err == nil {
			return strconv.FormatUint(n, 10)
		}
	}
	return ""
}

// regInt reads a DWORD/QWORD value (a numeric string is parsed), 0 when
// absent.
func regInt(k registry.Key, name string) uint64 {
	n, _, err := k.GetIntegerValue(name)
	if err == nil {
		return n
	}
	if errors.Is(err, registry.ErrUnexpectedType) {
		if s, _, err := k.GetStringValue(name); err == nil {
			n, _ = strconv.ParseUint(strings.TrimSpace(s), 10, 64)
			return n
		}
	}
	return 0
}

// userHives returns the SIDs of the user hives loaded under HKU: local and
// domain accounts (S-1-5-21-…) and Entra ID accounts (S-1-12-1-…).
func userHives() ([]string, error) {
	names, err := registry.USERS.ReadSubKeyNames(10000)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("HKU: %w", err)
	}
	var sids []string
	for _, n := range names {
		if (strings.HasPrefix(n, "S-1-5-21-") || strings.HasPrefix(n, "S-1-12-1-")) && !strings.HasSuffix(n, "_Classes") {
			sids = append(sids, n)
		}
	}
	return sids, nil
}

// osName is the product name gopsutil reads ("Microsoft Windows 11 Pro").
func osName(_ *env, h hostInfo) string { return h.Platform }

// loggedInUsers lists the accounts whose hive is loaded under HKU — the
// users with a session (or a process) on the machine — as DOMAIN\name,
// the SID when the name does not resolve.
func loggedInUsers(context.Context) ([]hostUser, error) {
	sids, err := userHives()
	if err != nil {
		return nil, err
	}
	users := make([]hostUser, 0, len(sids))
	for _, s := range sids {
		name := s
		if sid, err := windows.StringToSid(s); err == nil {
			if acc, dom, _, err := sid.LookupAccount(""); err == nil && acc != "" {
				name = acc
				if dom != "" {
					name = dom + `\` + acc
				}
			}
		}
		users = append(users, hostUser{User: clean(name)})
	}
	return sortUsers(users), nil
}
