package loadgen

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/wapt-go/wapt/server/client"
	"github.com/wapt-go/wapt/server/inventory"
	"github.com/wapt-go/wapt/shared/wire"
)

// commonPackages start the package catalog, so that a software filter such
// as package=tis-firefox matches a realistic share of the simulated fleet.
var commonPackages = []string{
	"tis-firefox", "tis-chrome", "tis-7zip", "tis-vlc", "tis-notepadplusplus",
	"tis-libreoffice", "tis-adobereader", "tis-putty", "tis-winscp", "tis-git",
	"tis-python3", "tis-vscode", "tis-zoom", "tis-teams", "tis-thunderbird",
	"tis-keepass", "tis-greenshot", "tis-paint-net", "tis-gimp", "tis-inkscape",
}

// catalogName is the name of package i of the fleet's catalog.
func catalogName(i int) string {
	if i < len(commonPackages) {
		return commonPackages[i]
	}
	return fmt.Sprintf("tis-pkg-%04d", i)
}

// host is one simulated agent: its identity, a client signing as it, and
// the package states it reports. mu serialises its reports, as a real
// agent sends one at a time.
type host struct {
	uuid   string
	client *client.Client

	mu       sync.Mutex
	rnd      *rand.Rand
	packages []wire.PackageState
	catalog  []int  // catalog index of each package
	revs     []int  // revision of each package's version
	section  string // hash of the "host" inventory section
}

// hostSection is the "host" inventory section sent at registration; status
// reports then only repeat its hash, as an agent whose inventory is
// unchanged does.
func hostSection(n int) json.RawMessage {
	b, _ := json.Marshal(map[string]any{
		"os": "Windows 10 Pro", "os_version": "10.0.19045", "computer_name": fmt.Sprintf("PC-%06d", n),
		"cpu": "Intel(R) Core(TM) i5-8500 CPU @ 3.00GHz", "memory_mb": 16384,
	})
	return b
}

// newHost returns simulated host n with p packages, all installed and OK.
// Hosts take their packages from a catalog half again as large as p, at an
// offset of n, so they share most packages but not all.
func newHost(uuid string, n, p int, seed uint64, installed time.Time) *host {
	h := &host{
		uuid:     uuid,
		rnd:      rand.New(rand.NewPCG(seed, uint64(n))),
		packages: make([]wire.PackageState, p),
		catalog:  make([]int, p),
		revs:     make([]int, p),
		section:  inventory.SectionHash(hostSection(n)),
	}
	catalog := max(p, p*3/2)
	for k := range h.packages {
		i := k
		if k >= p/2 { // the first half is common to every host
			i = p/2 + (k-p/2+n)%(catalog-p/2)
		}
		h.packages[k] = wire.PackageState{
			Package: catalogName(i), Version: pkgVersion(i, 0), Status: "OK", State: wire.StateOK,
			AuditStatus: "OK", InstallDate: installed, Explicit: k < 5,
		}
		h.catalog[k] = i
	}
	return h
}

// pkgVersion is the version of catalog package i at revision rev.
func pkgVersion(i, rev int) string {
	return strconv.Itoa(1+i%7) + "." + strconv.Itoa(i%10) + "." + strconv.Itoa(rev) + "-1"
}

// report changes the state of a few packages, as a fleet between two
// reports does (an upgrade becomes available, is installed, an install
// fails then succeeds), and returns the host's status report at now.
// The caller holds h.mu.
func (h *host) report(now time.Time, changes int) wire.StatusReport {
	for range min(changes, len(h.packages)) {
		k := h.rnd.IntN(len(h.packages))
		p := &h.packages[k]
		switch p.State {
		case wire.StateOK:
			if h.rnd.IntN(5) == 0 {
				p.State, p.Status, p.LastError = wire.StateError, "ERROR", "install failed: exit code 1603"
			} else {
				p.State = wire.StateNeedUpgrade
			}
		case wire.StateNeedUpgrade: // the next run installs the new version
			h.revs[k]++
			p.Version = pkgVersion(h.catalog[k], h.revs[k])
			fallthrough
		default: // ERROR: the next run retries and succeeds
			p.State, p.Status, p.LastError, p.InstallDate = wire.StateOK, "OK", "", now
		}
	}
	rep := wire.StatusReport{
		UUID: h.uuid, Time: now, HostStatus: wire.StateOK,
		Packages:      append([]wire.PackageState(nil), h.packages...),
		LastUpdate:    &wire.RunSummary{Time: now, OK: true},
		SectionHashes: map[string]string{"host": h.section},
	}
	for _, p := range h.packages {
		switch {
		case p.State == wire.StateError:
			rep.HostStatus = wire.StateError
		case p.State == wire.StateNeedUpgrade && rep.HostStatus == wire.StateOK:
			rep.HostStatus = wire.StateNeedUpgrade
		}
	}
	return rep
}
