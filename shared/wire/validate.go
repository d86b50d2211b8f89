package wire

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits checked by the Validate methods. The caller bounds the size of the
// whole body before decoding it.
const (
	MaxUUIDLen        = 64       // uuid: [A-Za-z0-9._-]
	MaxNameLen        = 253      // fqdn and hostname: [A-Za-z0-9._-]
	MaxPEMSize        = 16 << 10 // csr and certificate
	MaxTokenLen       = 256      // enrollment token
	MaxPasswordLen    = 1024     // bootstrap password
	MaxPackages       = 5000     // packages per status report
	MaxPackageNameLen = 200
	MaxVersionLen     = 128
	MaxStatusLen      = 32       // status, state, audit_status
	MaxErrorLen       = 16 << 10 // last_error, run error
	MaxProblems       = 1000     // problems per report
	MaxProblemLen     = 4096
	MaxSections       = 64 // sections per request
	MaxSectionNameLen = 32 // section names: [a-z0-9_]
	MinHashLen        = 32 // section hashes: lowercase hex
	MaxHashLen        = 128
	MaxRights         = 32
)

// Validate checks r's fields; the error is a *FieldsError. The CSR is only
// checked to be one PEM "CERTIFICATE REQUEST" block: parsing it and
// checking its signature is the server's job.
func (r *RegisterRequest) Validate() error {
	f := fields{}
	checkUUID(f, "uuid", r.UUID)
	checkName(f, "fqdn", r.FQDN, true)
	checkName(f, "hostname", r.Hostname, false)
	checkPEM(f, "csr", r.CSR, "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST")
	if len(r.Token) > MaxTokenLen {
		f.add("token", "longer than %d bytes", MaxTokenLen)
	} else if !printable(r.Token) {
		f.add("token", "contains control or invalid characters")
	}
	if len(r.Sections) > MaxSections {
		f.add("sections", "more than %d sections", MaxSections)
	}
	for name, data := range r.Sections {
		key := "sections." + name
		if !checkSectionName(f, key, name) {
			continue
		}
		checkJSON(f, key, data)
	}
	return f.err()
}

// Validate checks r's fields and their consistency (no duplicate package,
// every changed section also in SectionHashes with the same hash); the
// error is a *FieldsError.
func (r *StatusReport) Validate() error {
	f := fields{}
	checkUUID(f, "uuid", r.UUID)
	if r.Time.IsZero() {
		f.add("time", "required")
	}
	checkState(f, "host_status", r.HostStatus)
	if len(r.Packages) > MaxPackages {
		f.add("packages", "more than %d packages", MaxPackages)
	} else {
		seen := make(map[string]int, len(r.Packages))
		for i := range r.Packages {
			p := &r.Packages[i]
			key := fmt.Sprintf("packages[%d]", i)
			p.check(f, key)
			if j, dup := seen[p.Package]; dup && p.Package != "" {
				f.add(key+".package", "duplicate of packages[%d]", j)
			}
			seen[p.Package] = i
		}
	}
	if len(r.Problems) > MaxProblems {
		f.add("problems", "more than %d problems", MaxProblems)
	} else {
		for i, p := range r.Problems {
			checkText(f, fmt.Sprintf("problems[%d]", i), p, MaxProblemLen, true)
		}
	}
	r.LastUpdate.check(f, "last_update")
	r.LastUpgrade.check(f, "last_upgrade")
	if len(r.Sections) > MaxSections {
		f.add("sections", "more than %d sections", MaxSections)
	}
	for name, s := range r.Sections {
		key := "sections." + name
		if !checkSectionName(f, key, name) {
			continue
		}
		checkHash(f, key+".hash", s.Hash)
		checkJSON(f, key+".data", s.Data)
		if h, ok := r.SectionHashes[name]; !ok || h != s.Hash {
			f.add(key+".hash", "does not match section_hashes.%s", name)
		}
	}
	if len(r.SectionHashes) > MaxSections {
		f.add("section_hashes", "more than %d sections", MaxSections)
	}
	for name, h := range r.SectionHashes {
		key := "section_hashes." + name
		if checkSectionName(f, key, name) {
			checkHash(f, key, h)
		}
	}
	return f.err()
}

func (p *PackageState) check(f fields, key string) {
	switch {
	case p.Package == "":
		f.add(key+".package", "required")
	case len(p.Package) > MaxPackageNameLen:
		f.add(key+".package", "longer than %d bytes", MaxPackageNameLen)
	case !printable(p.Package) || strings.ContainsFunc(p.Package, unicode.IsSpace):
		f.add(key+".package", "contains spaces, control or invalid characters")
	}
	checkText(f, key+".version", p.Version, MaxVersionLen, false)
	checkText(f, key+".status", p.Status, MaxStatusLen, false)
	checkState(f, key+".state", p.State)
	checkText(f, key+".last_error", p.LastError, MaxErrorLen, true)
	checkText(f, key+".audit_status", p.AuditStatus, MaxStatusLen, false)
}

func (s *RunSummary) check(f fields, key string) {
	if s == nil {
		return
	}
	if s.Time.IsZero() {
		f.add(key+".time", "required")
	}
	checkText(f, key+".error", s.Error, MaxErrorLen, true)
}

// Validate checks r's fields; the error is a *FieldsError. The certificate
// is only checked to start with a PEM "CERTIFICATE" block; parsing it and
// checking its chain is the server's job.
func (r *AdminRegisterRequest) Validate() error {
	f := fields{}
	checkPEM(f, "certificate", r.Certificate, "CERTIFICATE")
	checkRights(f, r.Rights)
	if len(r.BootstrapPassword) > MaxPasswordLen {
		f.add("bootstrap_password", "longer than %d bytes", MaxPasswordLen)
	}
	return f.err()
}

// Validate checks the rights: at least one, each known, no duplicates.
func (r *AdminRightsRequest) Validate() error {
	f := fields{}
	checkRights(f, r.Rights)
	return f.err()
}

func checkRights(f fields, rights []string) {
	switch {
	case len(rights) == 0:
		f.add("rights", "required")
	case len(rights) > MaxRights:
		f.add("rights", "more than %d rights", MaxRights)
	}
	for i, right := range rights {
		key := fmt.Sprintf("rights[%d]", i)
		if !slices.Contains(Rights, right) {
			f.add(key, "unknown right %.40q (want one of %s)", right, strings.Join(Rights, ", "))
		} else if slices.Index(rights, right) != i {
			f.add(key, "duplicate right %q", right)
		}
	}
}

// ValidUUID reports whether s is a valid host UUID: 1 to MaxUUIDLen
// characters of [A-Za-z0-9._-], not "." or "..", so it is also safe in
// URL paths and file names.
func ValidUUID(s string) bool {
	return len(s) <= MaxUUIDLen && nameChars(s) && s != "." && s != ".."
}

// ValidSectionName reports whether s is a valid inventory section name:
// 1 to MaxSectionNameLen characters of [a-z0-9_].
func ValidSectionName(s string) bool {
	if s == "" || len(s) > MaxSectionNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// nameChars reports whether s is non-empty and made of [A-Za-z0-9._-].
func nameChars(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func checkUUID(f fields, key, s string) {
	switch {
	case s == "":
		f.add(key, "required")
	case len(s) > MaxUUIDLen:
		f.add(key, "longer than %d characters", MaxUUIDLen)
	case !ValidUUID(s):
		f.add(key, "must be made of A-Z, a-z, 0-9, '.', '_' and '-'")
	}
}

func checkName(f fields, key, s string, required bool) {
	switch {
	case s == "":
		if required {
			f.add(key, "required")
		}
	case len(s) > MaxNameLen:
		f.add(key, "longer than %d characters", MaxNameLen)
	case !nameChars(s):
		f.add(key, "must be made of A-Z, a-z, 0-9, '.', '_' and '-'")
	}
}

func checkPEM(f fields, key, s string, types ...string) {
	switch {
	case s == "":
		f.add(key, "required")
		return
	case len(s) > MaxPEMSize:
		f.add(key, "larger than %d bytes", MaxPEMSize)
		return
	}
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		f.add(key, "not PEM")
		return
	}
	if !slices.Contains(types, b.Type) {
		f.add(key, "PEM block is %.40q, want %q", b.Type, types[0])
	}
}

func checkSectionName(f fields, key, name string) bool {
	if !ValidSectionName(name) {
		f.add(key, "section names are 1 to %d characters of a-z, 0-9 and '_'", MaxSectionNameLen)
		return false
	}
	return true
}

func checkJSON(f fields, key string, data json.RawMessage) {
	if len(data) == 0 {
		f.add(key, "required")
	} else if !json.Valid(data) {
		f.add(key, "not valid JSON")
	}
}

func checkHash(f fields, key, h string) {
	if len(h) < MinHashLen || len(h) > MaxHashLen {
		f.add(key, "must be %d to %d lowercase hex digits", MinHashLen, MaxHashLen)
		return
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			f.add(key, "must be %d to %d lowercase hex digits", MinHashLen, MaxHashLen)
			return
		}
	}
}

func checkState(f fields, key, s string) {
	if s != "" && !slices.Contains(States, s) {
		f.add(key, "unknown state %.40q (want one of %s)", s, strings.Join(States, ", "))
	}
}

// checkText checks an optional free-text field: at most max bytes of valid
// UTF-8 without control characters ("\n" and "\t" allowed when multiline).
func checkText(f fields, key, s string, max int, multiline bool) {
	switch {
	case len(s) > max:
		f.add(key, "longer than %d bytes", max)
	case !utf8.ValidString(s):
		f.add(key, "not valid UTF-8")
	case strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t' || r == '\r'))
	}):
		f.add(key, "contains control characters")
	}
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}
