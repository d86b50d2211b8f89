package control

import (
	"fmt"
	"slices"
	"strings"
)

// RequiredAttributes must be present and non-empty in every control file.
var RequiredAttributes = []string{"package", "version", "architecture", "section", "priority"}

// OptionalAttributes are WAPT's other standard attributes, in WAPT's order.
var OptionalAttributes = []string{
	"name", "categories", "maintainer", "description", "depends", "conflicts", "maturity",
	"locale", "target_os", "min_os_version", "max_os_version", "min_wapt_version",
	"sources", "installed_size", "impacted_process", "description_fr", "description_pl",
	"description_de", "description_es", "description_pt", "description_it", "description_nl",
	"description_ru", "audit_schedule", "editor", "keywords", "licence", "homepage",
	"package_uuid", "valid_from", "valid_until", "forced_install_on", "changelog",
}

// SignatureAttributes are set when a control is signed, in WAPT's order.
var SignatureAttributes = []string{"signer", "signer_fingerprint", "signature", "signature_date", "signed_attributes"}

// StandardAttributes is WAPT's attribute order: RequiredAttributes, then
// OptionalAttributes, then SignatureAttributes.
var StandardAttributes = slices.Concat(RequiredAttributes, OptionalAttributes, SignatureAttributes)

// IndexAttributes only appear in the blocks of a Packages index.
var IndexAttributes = []string{"filename", "size", "md5sum", "sha256"}

// isDefaultSigned reports whether key is in WAPT's default signed attribute
// list (every standard attribute except "signature"); WAPT writes those even
// when empty.
func isDefaultSigned(key string) bool {
	return key != "signature" && slices.Contains(StandardAttributes, key)
}

// Format returns the control in WAPT's layout (PackageEntry.ascontrol), one
// fmt.Sprintf("%-18s: %s", key, value) line per attribute, each ending in
// "\n" (WAPT's own writer omits the final newline; both read the same):
//
//   - first the StandardAttributes in order: those present, and all default
//     signed ones (every standard attribute but "signature") even when
//     absent, written with an empty value ("key               : ", with the
//     trailing space, byte-identical to WAPT);
//   - then the other present keys in their order of first appearance;
//   - last the present IndexAttributes, in IndexAttributes order.
//
// A multi-line value has each "\n" written as "\n " (a continuation line).
// A blank inner line thus becomes a line holding one space, which Parse
// reads back as an empty inner line but WAPT's parser takes as the end of
// the control (it ignores everything after it): Validate reports such
// values.
func (c *Control) Format() []byte {
	var b strings.Builder
	write := func(k string) {
		v := strings.ReplaceAll(c.Get(k), "\n", "\n ")
		fmt.Fprintf(&b, "%-18s: %s\n", k, v)
	}
	for _, k := range StandardAttributes {
		if c.Has(k) || isDefaultSigned(k) {
			write(k)
		}
	}
	for _, k := range c.Keys() {
		if !slices.Contains(StandardAttributes, k) && !slices.Contains(IndexAttributes, k) {
			write(k)
		}
	}
	for _, k := range IndexAttributes {
		if c.Has(k) {
			write(k)
		}
	}
	return []byte(b.String())
}
