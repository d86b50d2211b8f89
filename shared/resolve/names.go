package resolve

import (
	"strings"
	"unicode"
)

// UnitPackageNames returns the unit (organizational unit) package names that
// apply to a host, most specific first, as WAPT's get_host_packages_names
// does: one name per level of the DN below the host's own CN, down to the
// whole domain. The domain itself ("DC=x,DC=y") is one level; its parents
// ("DC=y") are not.
//
//	"CN=h,OU=a,OU=b,DC=x,DC=y" → "OU=a,OU=b,DC=x,DC=y", "OU=b,DC=x,DC=y", "DC=x,DC=y"
//
// When the first component is not a CN the DN is taken as the OU's own DN
// and is the first name. Spaces around components and around "=" are
// removed; escaped commas ("\,") stay inside their component.
func UnitPackageNames(dn string) []string {
	parts := splitDN(dn)
	start := 0
	if len(parts) > 0 && strings.EqualFold(rdnType(parts[0]), "CN") {
		start = 1
	}
	var out []string
	prev := ""
	for i := start; i < len(parts); i++ {
		typ := rdnType(parts[i])
		if strings.EqualFold(typ, "DC") && strings.EqualFold(typ, prev) {
			break
		}
		out = append(out, strings.Join(parts[i:], ","))
		prev = typ
	}
	return out
}

// splitDN splits a DN on unescaped commas into "type=value" components.
func splitDN(dn string) []string {
	var parts []string
	var b strings.Builder
	flush := func() {
		comp := strings.TrimSpace(b.String())
		b.Reset()
		if comp == "" {
			return
		}
		if typ, val, ok := strings.Cut(comp, "="); ok {
			comp = strings.TrimSpace(typ) + "=" + strings.TrimSpace(val)
		}
		parts = append(parts, comp)
	}
	for i := 0; i < len(dn); i++ {
		switch c := dn[i]; {
		case c == '\\' && i+1 < len(dn):
			b.WriteByte(c)
			i++
			b.WriteByte(dn[i])
		case c == ',':
			flush()
		default:
			b.WriteByte(c)
		}
	}
	flush()
	return parts
}

func rdnType(comp string) string {
	typ, _, _ := strings.Cut(comp, "=")
	return typ
}

// ValidPackageName turns a unit DN or a profile (group) name into a package
// name the way WAPT 2.x's make_valid_package_name does: letters, digits and
// "-_=~." are kept, "," becomes "_", " " becomes "~", anything else is
// dropped. Resolve looks implicit packages up under the name as given first,
// then under this form, so unit packages named either way are found.
func ValidPackageName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsNumber(r) || strings.ContainsRune("-_=~.", r):
			b.WriteRune(r)
		case r == ',':
			b.WriteByte('_')
		case r == ' ':
			b.WriteByte('~')
		}
	}
	return b.String()
}
