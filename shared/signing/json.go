package signing

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrJSON is returned by CanonicalJSON for values it cannot serialize the
// way Python does (unsupported types, invalid UTF-8, NaN, too deep).
var ErrJSON = errors.New("cannot serialize as canonical JSON")

// maxJSONDepth bounds the nesting of CanonicalJSON input (Python's own
// recursion limit is about 1000).
const maxJSONDepth = 1000

// CanonicalJSON serializes v exactly like Python's
//
//	json.dumps(v, sort_keys=True, separators=(',', ':'))
//
// (ensure_ascii=True): object keys sorted by code point, no spaces, every
// character outside printable ASCII escaped as \uXXXX with lowercase hex
// (UTF-16 surrogate pairs above the BMP), \" \\ \n \r \t \b \f short
// escapes, no HTML escaping of < > &, "/" not escaped.
//
// Supported: nil, bool, string, every Go integer type, json.Number, float32
// and float64 (printed like Python's repr(float); NaN and infinities are
// refused), and slices, arrays and string-keyed maps of those (including
// []any, []string, [][2]string, map[string]any, map[string]string).
// A json.Number is printed the way Python would after json.loads: an
// integer literal as an integer ("-0" becomes "0"), any other as a float.
// Strings must be valid UTF-8: invalid bytes are refused, not replaced, so
// that two different byte strings never serialize alike.
func CanonicalJSON(v any) ([]byte, error) {
	return appendJSON(nil, v, 0)
}

func appendJSON(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxJSONDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d", ErrJSON, maxJSONDepth)
	}
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case string:
		return appendString(b, x)
	case json.Number:
		return appendNumber(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int8:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case uint:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case float64:
		return appendFloat(b, x)
	case float32:
		return appendFloat(b, float64(x))
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case []string:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendString(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys) // UTF-8 byte order is code point order
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendString(b, k); err != nil {
				return nil, err
			}
			b = append(b, ':')
			if b, err = appendJSON(b, x[k], depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	return appendReflect(b, v, depth)
}

// appendReflect handles the other slices, arrays and string-keyed maps
// ([][2]string, map[string]string, ...).
func appendReflect(b []byte, v any, depth int) ([]byte, error) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		b = append(b, '[') // a nil slice is an empty list: Python has no nil list
		for i := range rv.Len() {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, rv.Index(i).Interface(), depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		m := make(map[string]any, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			m[it.Key().String()] = it.Value().Interface()
		}
		return appendJSON(b, m, depth)
	}
	return nil, fmt.Errorf("%w: unsupported type %T", ErrJSON, v)
}

const hexDigits = "0123456789abcdef"

func appendString(b []byte, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("%w: invalid UTF-8 in %q", ErrJSON, s)
	}
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"':
			b = append(b, `\"`...)
		case r == '\\':
			b = append(b, `\\`...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r == '\b':
			b = append(b, `\b`...)
		case r == '\f':
			b = append(b, `\f`...)
		case r >= 0x20 && r <= 0x7e:
			b = append(b, byte(r))
		case r < 0x10000:
			b = appendU(b, r)
		default:
			r -= 0x10000
			b = appendU(b, 0xd800+(r>>10))
			b = appendU(b, 0xdc00+(r&0x3ff))
		}
	}
	return append(b, '"'), nil
}

func appendU(b []byte, r rune) []byte {
	return append(b, '\\', 'u',
		hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}

var (
	jsonIntRe    = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)
	jsonNumberRe = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)
)

func appendNumber(b []byte, n json.Number) ([]byte, error) {
	s := string(n)
	if jsonIntRe.MatchString(s) {
		if s == "-0" {
			s = "0"
		}
		return append(b, s...), nil
	}
	if !jsonNumberRe.MatchString(s) {
		return nil, fmt.Errorf("%w: invalid number %q", ErrJSON, s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: number %q: %v", ErrJSON, s, err)
	}
	return appendFloat(b, f)
}

// appendFloat writes f like Python's repr(float): the shortest digits that
// round-trip, positional notation when the decimal exponent is in
// [-4, 16), else d.ddde±XX; integral values keep a ".0".
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("%w: %v is not JSON", ErrJSON, f)
	}
	if f == 0 {
		if math.Signbit(f) {
			return append(b, "-0.0"...), nil
		}
		return append(b, "0.0"...), nil
	}
	// "-d.dddde±XX"
	e := strconv.FormatFloat(f, 'e', -1, 64)
	neg := e[0] == '-'
	if neg {
		e = e[1:]
	}
	mant, expText, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	exp, err := strconv.Atoi(expText)
	if err != nil {
		return nil, fmt.Errorf("%w: float %v", ErrJSON, f)
	}
	if neg {
		b = append(b, '-')
	}
	if exp < -4 || exp >= 16 {
		b = append(b, digits[0])
		if len(digits) > 1 {
			b = append(b, '.')
			b = append(b, digits[1:]...)
		}
		b = append(b, 'e')
		if exp < 0 {
			b = append(b, '-')
			exp = -exp
		} else {
			b = append(b, '+')
		}
		if exp < 10 {
			b = append(b, '0')
		}
		return strconv.AppendInt(b, int64(exp), 10), nil
	}
	if exp < 0 {
		b = append(b, "0."...)
		b = append(b, strings.Repeat("0", -exp-1)...)
		return append(b, digits...), nil
	}
	if len(digits) <= exp+1 {
		b = append(b, digits...)
		b = append(b, strings.Repeat("0", exp+1-len(digits))...)
		return append(b, ".0"...), nil
	}
	b = append(b, digits[:exp+1]...)
	b = append(b, '.')
	return append(b, digits[exp+1:]...), nil
}
