package hostinfo

import (
	"runtime"
	"testing"
)

func TestValidUUID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"4c4c4544-0042-3510-8052-b4c04f4e4d32\n", "4C4C4544-0042-3510-8052-B4C04F4E4D32"},
		{"00000000-0000-0000-0000-000000000000", ""},
		{"FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", ""},
		{"not-a-uuid", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := ValidUUID(tt.in); got != tt.want {
			t.Errorf("ValidUUID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDetect(t *testing.T) {
	i := Detect()
	if i.OS != runtime.GOOS || i.Arch == "" || i.Hostname == "" {
		t.Errorf("Detect() = %+v", i)
	}
	if Arch("amd64") != "x64" || Arch("386") != "x86" {
		t.Error("arch mapping")
	}
}
