// Package pkgfile builds, signs, opens, verifies and extracts WAPT package
// files (.wapt, DESIGN §2): a ZIP holding the payload, an optional setup.py
// and the WAPT/control, WAPT/certificate.crt, WAPT/manifest.sha256 and
// WAPT/signature.sha256 members.
//
// Reading uses its own strict ZIP parser over an io.ReaderAt: every byte of
// a package is either compared with a second copy (local header against
// central directory, data descriptor against central directory), bound by a
// structural rule (contiguous members, exact end of central directory,
// valid field values), or covered by the SHA-256 manifest and its
// signature. Flipping any single byte of a package built here therefore
// makes Open or Verify fail. Sizes are bounded by Limits before anything is
// read or decompressed.
//
// Writing streams each source file once: it is read, hashed with SHA-256
// and zipped (stored when it does not compress, deflated otherwise) in a
// two-stage pipeline, then the manifest and its signature are appended.
package pkgfile

import (
	"errors"
	"fmt"
)

var (
	// ErrCorrupt reports a structural problem of the ZIP container; the
	// error names the member or the offset.
	ErrCorrupt = errors.New("corrupt package")
	// ErrUnsafePath reports a member whose path or type is unsafe to
	// extract: "..", ".", absolute, drive letter, backslash, ':', control
	// characters, symlinks, devices.
	ErrUnsafePath = errors.New("unsafe member path")
	// ErrTooLarge reports a package exceeding its Limits.
	ErrTooLarge = errors.New("package exceeds size limits")
	// ErrManifest reports a member missing from the manifest, a manifest
	// entry without member, or a member whose SHA-256 differs.
	ErrManifest = errors.New("manifest mismatch")
	// ErrNotPackage reports a ZIP without WAPT/control.
	ErrNotPackage = errors.New("not a wapt package")
	// ErrNotVerified is returned by Extract when Verify did not succeed
	// on the Package first.
	ErrNotVerified = errors.New("package not verified")
)

// Member names with a fixed role.
const (
	ControlName      = "WAPT/control"
	CertificateName  = "WAPT/certificate.crt"
	ManifestName     = "WAPT/manifest.sha256"
	SignatureName    = "WAPT/signature.sha256"
	legacyManifest   = "WAPT/manifest.sha1"
	legacySignature  = "WAPT/signature"
	setupName        = "setup.py"
	maxMetadataSize  = 1 << 20 // control, certificate and signature members
	maxNameLen       = 4096    // bytes of one member name
	ratioMinimumSize = 1 << 20 // MaxRatio applies to members larger than this
)

// Limits bound what Open accepts. A zero (or negative) field allows
// nothing, so start from DefaultLimits.
type Limits struct {
	MaxFileSize          int64 // size of the .wapt file
	MaxTotalUncompressed int64 // sum of the uncompressed sizes of all members
	MaxMemberSize        int64 // uncompressed size of one member
	MaxMembers           int   // number of members (ZIP entries)
	// MaxRatio bounds uncompressed/compressed size of deflated members
	// larger than 1 MiB (deflate itself cannot exceed about 1032).
	MaxRatio int64
}

// DefaultLimits returns 16 GiB file and total, 8 GiB per member, 100,000
// members and a compression ratio of 1000. Whatever the limits, the
// control, certificate and signature members may hold at most 1 MiB each,
// the manifest at most 1 MiB plus about 6 times the length of the member
// names (its JSON text), and a member name at most 4096 bytes.
func DefaultLimits() Limits {
	return Limits{
		MaxFileSize:          16 << 30,
		MaxTotalUncompressed: 16 << 30,
		MaxMemberSize:        8 << 30,
		MaxMembers:           100000,
		MaxRatio:             1000,
	}
}

// clamp turns negative limits into 0.
func (l Limits) clamp() Limits {
	l.MaxFileSize = max(l.MaxFileSize, 0)
	l.MaxTotalUncompressed = max(l.MaxTotalUncompressed, 0)
	l.MaxMemberSize = max(l.MaxMemberSize, 0)
	l.MaxMembers = max(l.MaxMembers, 0)
	l.MaxRatio = max(l.MaxRatio, 0)
	return l
}

// Member describes one ZIP entry of a package.
type Member struct {
	Name           string // slash-separated; directories end with "/"
	Size           int64  // uncompressed
	CompressedSize int64
	Method         uint16 // 0 stored, 8 deflated
}

// corruptf returns an error wrapping ErrCorrupt.
func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// unsafef returns an error wrapping ErrUnsafePath.
func unsafef(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsafePath, fmt.Sprintf(format, args...))
}

// largef returns an error wrapping ErrTooLarge.
func largef(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrTooLarge, fmt.Sprintf(format, args...))
}
