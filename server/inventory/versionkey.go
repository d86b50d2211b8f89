package inventory

import (
	"encoding/binary"

	"github.com/wapt-go/wapt/shared/version"
)

// Version keys let the store compare package versions in SQL with plain
// byte-wise comparisons (BLOB in SQLite, bytea in PostgreSQL: both memcmp),
// so a "has package X < Y" filter runs on an index instead of in Go.
//
// A key is upstreamKey(v) followed by the packaging number as 8 big-endian
// bytes. upstreamKey encodes exactly MaxMembers members (a missing member is
// "0", as version.CompareUpstream does); each member is its runs in order:
//
//	text run  → its lowercased bytes, then 0x01 (text runs never hold bytes ≤ 0x01)
//	digit run → 0x02, its length (2 bytes, big-endian), its digits (no leading zeros)
//	end       → 0x01
//
// so that bytes.Compare(key(a), key(b)) == version.Compare(a, b). The end
// marker 0x01 sorts before a digit run's 0x02, which gives "a member that is
// a prefix of another sorts first". The upstream key is prefix-free, and
// ends in 0x01, so every key of upstream U lies in [U, U[:n-1]+0x02).
const (
	runEnd   = 0x01
	digitTag = 0x02
)

// VersionKey returns the sortable key of v: bytes.Compare on two keys
// equals version.Compare on their versions. Stores index it.
func VersionKey(v version.Version) []byte {
	k := upstreamKey(v)
	return binary.BigEndian.AppendUint64(k, uint64(v.Packaging()))
}

// upstreamKey encodes the upstream part of v.
func upstreamKey(v version.Version) []byte {
	var k []byte
	up := splitUpstream(v.Upstream())
	for i := range version.MaxMembers {
		m := "0"
		if i < len(up) {
			m = up[i]
		}
		k = appendMember(k, m)
	}
	return k
}

func splitUpstream(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// appendMember appends one member's runs, mirroring version's splitMember:
// alternating text and digit runs, starting and ending with a text run.
func appendMember(k []byte, p string) []byte {
	i := 0
	for {
		j := i
		for j < len(p) && !isDigit(p[j]) {
			c := p[j]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			k = append(k, c)
			j++
		}
		k = append(k, runEnd)
		if j == len(p) {
			return append(k, runEnd)
		}
		n := j
		for n < len(p) && p[n] == '0' {
			n++
		}
		e := n
		for e < len(p) && isDigit(p[e]) {
			e++
		}
		k = append(k, digitTag)
		k = binary.BigEndian.AppendUint16(k, uint16(e-n))
		k = append(k, p[n:e]...)
		i = e
	}
}

// KeyRange bounds a version key; a nil bound is open. Lo and Hi are
// inclusive when LoIncl/HiIncl are set.
type KeyRange struct {
	Lo, Hi         []byte
	LoIncl, HiIncl bool
}

// rangeFor returns the key range matching r's condition, following
// version.Request.Matches: with a packaging part the whole versions are
// compared, without one only the upstream parts. ok is false for OpAny.
func rangeFor(r version.Request) (kr KeyRange, ok bool) {
	if r.Op == version.OpAny {
		return KeyRange{}, false
	}
	var lo, hi []byte // the keys equal to r.Version: [lo, hi] or [lo, hi)
	hiIncl := true
	if r.Version.HasPackaging() {
		lo = VersionKey(r.Version)
		hi = lo
	} else {
		lo = upstreamKey(r.Version)
		hi = append(append([]byte(nil), lo[:len(lo)-1]...), runEnd+1)
		hiIncl = false
	}
	switch r.Op {
	case version.OpEq, version.OpEqEq:
		return KeyRange{Lo: lo, LoIncl: true, Hi: hi, HiIncl: hiIncl}, true
	case version.OpLt:
		return KeyRange{Hi: lo}, true
	case version.OpLe:
		return KeyRange{Hi: hi, HiIncl: hiIncl}, true
	case version.OpGt:
		return KeyRange{Lo: hi, LoIncl: !hiIncl}, true
	case version.OpGe:
		return KeyRange{Lo: lo, LoIncl: true}, true
	}
	return KeyRange{}, false
}
