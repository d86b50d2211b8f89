//go:build unix && !darwin

package main

import "testing"

func TestHasDisplay(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, false},
		{map[string]string{"DISPLAY": ":0"}, true},
		{map[string]string{"WAYLAND_DISPLAY": "wayland-0"}, true},
		{map[string]string{"DISPLAY": "", "WAYLAND_DISPLAY": ""}, false},
	}
	for _, tt := range tests {
		if got := hasDisplay(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("hasDisplay(%v) = %v, want %v", tt.env, got, tt.want)
		}
	}
}
