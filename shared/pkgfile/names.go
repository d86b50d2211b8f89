package pkgfile

import (
	"strings"
	"unicode/utf8"
)

// checkName validates a member name (slash-separated, relative; a trailing
// "/" marks a directory). Rejected, with ErrUnsafePath: empty or longer
// than maxNameLen, invalid UTF-8, control characters, backslash, ':' (drive
// letters, NTFS streams), a leading "/", empty, "." and ".." segments, and
// segments ending in "." or " " (Windows drops those, which would make two
// names one file).
func checkName(name string) error {
	switch {
	case name == "":
		return unsafef("empty member name")
	case len(name) > maxNameLen:
		return unsafef("member name of %d bytes (max %d)", len(name), maxNameLen)
	case !utf8.ValidString(name):
		return unsafef("member name %q is not UTF-8", name)
	case name[0] == '/':
		return unsafef("absolute member name %q", name)
	}
	for _, r := range name {
		switch {
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return unsafef("control character in member name %q", name)
		case r == '\\':
			return unsafef("backslash in member name %q", name)
		case r == ':':
			return unsafef("':' in member name %q", name)
		}
	}
	for seg := range strings.SplitSeq(strings.TrimSuffix(name, "/"), "/") {
		switch {
		case seg == "":
			return unsafef("empty path segment in member name %q", name)
		case seg == "." || seg == "..":
			return unsafef("%q segment in member name %q", seg, name)
		case strings.HasSuffix(seg, ".") || strings.HasSuffix(seg, " "):
			return unsafef("segment %q of member name %q ends with a dot or space", seg, name)
		}
	}
	return nil
}

// foldName is the key under which names collide on case-insensitive file
// systems.
func foldName(s string) string { return strings.ToLower(strings.ToUpper(s)) }

// nameKind records what a folded path is in a nameTree.
type nameKind uint8

const (
	implicitDir nameKind = iota + 1 // parent of some member
	explicitDir                     // a directory entry
	fileName                        // a file entry
)

// nameTree detects duplicate names (case-insensitively) and names that are
// both a file and a directory.
type nameTree map[string]nameKind

// add records name (already validated by checkName).
func (t nameTree) add(name string) error {
	isDir := strings.HasSuffix(name, "/")
	key := foldName(strings.TrimSuffix(name, "/"))
	for i := 0; i < len(key); i++ {
		if key[i] != '/' {
			continue
		}
		switch t[key[:i]] {
		case fileName:
			return unsafef("member %q is inside %q, which is a file", name, key[:i])
		case 0:
			t[key[:i]] = implicitDir
		}
	}
	switch k := t[key]; {
	case k == 0:
	case k == implicitDir && isDir:
	case k == implicitDir:
		return unsafef("member %q is a file and a directory", name)
	default:
		return unsafef("duplicate member %q (names compare case-insensitively)", name)
	}
	if isDir {
		t[key] = explicitDir
	} else {
		t[key] = fileName
	}
	return nil
}

// Unix mode bits in the high 16 bits of the external attributes.
const (
	modeType    = 0o170000
	modeRegular = 0o100000
	modeDir     = 0o040000
	modeSymlink = 0o120000
	modeSpecial = 0o7000 // setuid, setgid, sticky
)

// DOS attribute bits in the low byte of the external attributes.
const (
	dosVolume = 0x08
	dosDir    = 0x10
	dosDevice = 0x40
)

// checkAttrs validates the external attributes of a member and reports
// whether a file is marked executable (any x bit in a Unix mode).
func checkAttrs(name string, ext uint32, isDir bool) (exec bool, err error) {
	dos := ext & 0xff
	switch {
	case ext&0xff00 != 0:
		return false, corruptf("member %q: reserved external attribute bits %#x set", name, ext&0xff00)
	case dos&(dosVolume|dosDevice) != 0:
		return false, corruptf("member %q: volume or device DOS attribute %#x", name, dos)
	case dos&dosDir != 0 && !isDir:
		return false, corruptf("member %q: DOS directory attribute on a file", name)
	}
	mode := ext >> 16
	if mode == 0 {
		return false, nil
	}
	switch mode & modeType {
	case 0:
	case modeRegular:
		if isDir {
			return false, corruptf("member %q: regular file mode on a directory", name)
		}
	case modeDir:
		if !isDir {
			return false, corruptf("member %q: directory mode on a file", name)
		}
	case modeSymlink:
		return false, unsafef("member %q is a symbolic link", name)
	case 0o020000, 0o060000, 0o010000, 0o140000:
		return false, unsafef("member %q is a device, pipe or socket (mode %#o)", name, mode)
	default:
		return false, corruptf("member %q: unknown file type in mode %#o", name, mode)
	}
	if mode&modeSpecial != 0 {
		return false, unsafef("member %q: setuid, setgid or sticky bit in mode %#o", name, mode)
	}
	owner, group, other := mode>>6&7, mode>>3&7, mode&7
	if owner&4 == 0 || group&^owner != 0 || other&^owner != 0 {
		return false, corruptf("member %q: implausible permissions %#o", name, mode&0o777)
	}
	return !isDir && owner&1 != 0, nil
}

// validDOSTime reports whether an MS-DOS time and date are valid.
func validDOSTime(t, d uint16) bool {
	sec2, minute, hour := t&0x1f, t>>5&0x3f, t>>11
	day, month := d&0x1f, d>>5&0xf
	return sec2 <= 29 && minute <= 59 && hour <= 23 && day >= 1 && month >= 1 && month <= 12
}
