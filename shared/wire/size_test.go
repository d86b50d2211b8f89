package wire

import (
	"errors"
	"testing"
)

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
	}{
		{"0", 0}, {"1024", 1024}, {"8G", 8 << 30}, {"8g", 8 << 30}, {"8GB", 8 << 30}, {"8GiB", 8 << 30}, {" 512M ", 512 << 20},
		{"512 MiB", 512 << 20}, {"1.5T", 3 << 39}, {"4k", 4096}, {"100B", 100}, {"8388607T", 8388607 << 40},
	} {
		if got, err := ParseSize(tt.in); err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "G", "-1", "-1G", "lots", "8X", "1e9", "0x10", "8.8.8", "8388608T", "99999999999999999999", "1,5G", "NaN"} {
		if n, err := ParseSize(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseSize(%q) = %d, %v; want ErrInvalid", bad, n, err)
		}
	}
}
