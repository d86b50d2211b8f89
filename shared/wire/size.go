package wire

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// sizeUnits are the suffixes ParseSize takes, longest first: all binary.
var sizeUnits = []struct {
	suffix string
	shift  uint
}{
	{"KIB", 10}, {"MIB", 20}, {"GIB", 30}, {"TIB", 40},
	{"KB", 10}, {"MB", 20}, {"GB", 30}, {"TB", 40},
	{"K", 10}, {"M", 20}, {"G", 30}, {"T", 40},
	{"B", 0},
}

// ParseSize parses a byte count as the host filters take it (ram_min,
// ram_max, disk_free_min): a non-negative integer of bytes, or a number
// with a binary unit K, M, G or T, optionally followed by "B" or "iB",
// case-insensitive: "8G", "8GB" and "8GiB" all mean 8×2³⁰ bytes, "1.5T"
// is 1.5×2⁴⁰. Errors wrap ErrInvalid.
func ParseSize(s string) (int64, error) {
	bad := func(why string) (int64, error) {
		return 0, fmt.Errorf("%w: size %.40q: %s", ErrInvalid, s, why)
	}
	num := strings.ToUpper(strings.TrimSpace(s))
	var shift uint
	for _, u := range sizeUnits {
		if rest, ok := strings.CutSuffix(num, u.suffix); ok {
			num, shift = strings.TrimSpace(rest), u.shift
			break
		}
	}
	if num == "" || strings.Trim(num, "0123456789.") != "" || strings.Count(num, ".") > 1 {
		return bad("want bytes, or a number with K, M, G or T")
	}
	if n, err := strconv.ParseInt(num, 10, 64); err == nil {
		if n > math.MaxInt64>>shift {
			return bad("too large")
		}
		return n << shift, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return bad("want bytes, or a number with K, M, G or T")
	}
	v := f * float64(int64(1)<<shift)
	if v >= math.MaxInt64 {
		return bad("too large")
	}
	return int64(v), nil
}
