package localapi

import (
	"errors"
	"testing"
	"time"
)

func TestParseWait(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"", 0, false},
		{"0", 0, false},
		{"30s", 30 * time.Second, false},
		{"1500ms", 1500 * time.Millisecond, false},
		{"45", 45 * time.Second, false},
		{"10m", MaxWait, false},
		{"3600", MaxWait, false},
		{"-1s", 0, true},
		{"soon", 0, true},
		{"99999999999999999999", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseWait(tt.in)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("parseWait(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("parseWait(%q) error %v is not ErrInvalid", tt.in, err)
			}
		})
	}
}

func TestParseAfter(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "0": 0, "42": 42} {
		if got, err := parseAfter(in); err != nil || got != want {
			t.Errorf("parseAfter(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"-1", "x", "1.5", "99999999999999999999"} {
		if _, err := parseAfter(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("parseAfter(%q) error %v, want ErrInvalid", in, err)
		}
	}
}
