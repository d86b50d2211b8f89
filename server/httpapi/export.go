package httpapi

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wapt-go/wapt/server/inventory"
	"github.com/wapt-go/wapt/shared/wire"
)

// export: GET /api/v1/hosts/export?format=csv|csv-rows|json&<the list's
// filters>: every matching host (no paging; sort, offset and limit are
// ignored: by hostname) with its inventory under GLPI's field names
// (wire.HostExport), streamed as it is read.
func (h *hostsHandler) export(w http.ResponseWriter, r *http.Request) {
	if _, err := h.requireAdmin(r, nil, wire.RightView); err != nil {
		writeError(w, err)
		return
	}
	v := r.URL.Query()
	format := v.Get("format")
	if format == "" {
		format = wire.ExportJSON
	}
	q, err := hostQuery(v)
	if !slices.Contains(wire.ExportFormats, format) {
		fe := &wire.FieldsError{Fields: map[string]string{}}
		if !errors.As(err, &fe) {
			err = fe
		}
		fe.Fields["format"] = "one of " + strings.Join(wire.ExportFormats, ", ")
	}
	if err != nil {
		writeError(w, err)
		return
	}
	e := &exporter{w: w, format: format}
	if err := h.cfg.Inventory.ExportHosts(r.Context(), q, true, e.host); err != nil {
		if !e.started {
			writeError(w, err)
			return
		}
		// The status line is gone: cut the response so that the client
		// sees a failed transfer, not a short but well-formed file.
		h.cfg.Logf("export hosts: %v", err)
		panic(http.ErrAbortHandler)
	}
	if err := e.finish(); err != nil {
		h.cfg.Logf("export hosts: %v", err)
	}
}

// exporter writes the hosts of an export in its format, sending the
// headers with the first host (or at the end when none matched).
type exporter struct {
	w       http.ResponseWriter
	format  string
	started bool
	buf     *bufio.Writer
	csv     *csv.Writer
	n       int
}

// csvHeader are the host columns of the CSV formats.
var csvHeader = []string{"name", "fqdn", "uuid", "wapt_uuid", "serial", "manufacturer", "computermodel",
	"operatingsystem", "operatingsystemversion", "operatingsystemkernelversion", "memory", "cpu",
	"disk_total", "disk_free", "last_inventory_update", "last_seen", "status", "unit", "duplicate_system_uuid"}

func (e *exporter) start() error {
	e.started = true
	h := e.w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	ext := "json"
	if e.format == wire.ExportJSON {
		h.Set("Content-Type", "application/json")
	} else {
		h.Set("Content-Type", "text/csv; charset=utf-8")
		ext = "csv"
	}
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="hosts-%s.%s"`, time.Now().UTC().Format("20060102-150405"), ext))
	e.w.WriteHeader(http.StatusOK)
	e.buf = bufio.NewWriterSize(e.w, 64<<10)
	if e.format == wire.ExportJSON {
		_, err := io.WriteString(e.buf, "[")
		return err
	}
	e.csv = csv.NewWriter(e.buf)
	header := slices.Clone(csvHeader)
	if e.format == wire.ExportCSVRows {
		header = append(header, "software_name", "software_version", "software_publisher")
	} else {
		header = append(header, "softwares")
	}
	return e.csv.Write(header)
}

// host writes one host.
func (e *exporter) host(he inventory.HostExport) error {
	if !e.started {
		if err := e.start(); err != nil {
			return err
		}
	}
	x := he.GLPI()
	e.n++
	switch e.format {
	case wire.ExportJSON:
		sep := ",\n"
		if e.n == 1 {
			sep = "\n"
		}
		if _, err := io.WriteString(e.buf, sep); err != nil {
			return err
		}
		// The encoder ends each value with a newline; maintainer
		// addresses keep their <>.
		enc := json.NewEncoder(&trimNewline{w: e.buf})
		enc.SetEscapeHTML(false)
		return enc.Encode(x)
	case wire.ExportCSVRows:
		row := csvRow(x)
		if len(x.Softwares) == 0 {
			return e.csv.Write(append(row, "", "", ""))
		}
		for _, s := range x.Softwares {
			if err := e.csv.Write(append(row, cell(s.Name), cell(s.Version), cell(s.Publisher))); err != nil {
				return err
			}
		}
		return e.csv.Error()
	default:
		list := make([]string, len(x.Softwares))
		for i, s := range x.Softwares {
			list[i] = strings.TrimSpace(s.Name + " " + s.Version)
		}
		return e.csv.Write(append(csvRow(x), cell(strings.Join(list, "; "))))
	}
}

// finish ends the document (an empty one when no host matched).
func (e *exporter) finish() error {
	if !e.started {
		if err := e.start(); err != nil {
			return err
		}
	}
	if e.format == wire.ExportJSON {
		end := "\n]\n"
		if e.n == 0 {
			end = "]\n"
		}
		if _, err := io.WriteString(e.buf, end); err != nil {
			return err
		}
	} else {
		e.csv.Flush()
		if err := e.csv.Error(); err != nil {
			return err
		}
	}
	return e.buf.Flush()
}

// csvRow returns the host columns of x (csvHeader's order).
func csvRow(x wire.HostExport) []string {
	free := ""
	if x.DiskFree != nil {
		free = strconv.FormatInt(*x.DiskFree, 10)
	}
	row := []string{cell(x.Name), cell(x.FQDN), cell(x.UUID), cell(x.WAPTUUID), cell(x.Serial), cell(x.Manufacturer),
		cell(x.ComputerModel), cell(x.OperatingSystem), cell(x.OperatingSystemVersion), cell(x.OperatingSystemKernelVersion),
		sizeCell(x.Memory), cell(x.CPU), sizeCell(x.DiskTotal), free, timeCell(x.LastInventoryUpdate), timeCell(x.LastSeen),
		cell(x.Status), cell(x.Unit), strconv.FormatBool(x.DuplicateSystemUUID)}
	return row
}

func sizeCell(n int64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

func timeCell(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// cell defuses a value a spreadsheet would run as a formula (the agents
// report these strings): a leading = + - @ tab or CR gets a quote.
func cell(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// trimNewline drops the newline json.Encoder writes after each value.
type trimNewline struct{ w io.Writer }

func (t *trimNewline) Write(p []byte) (int, error) {
	n := len(p)
	if n > 0 && p[n-1] == '\n' {
		p = p[:n-1]
	}
	if _, err := t.w.Write(p); err != nil {
		return 0, err
	}
	return n, nil
}
