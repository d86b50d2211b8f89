//go:build !cgo

package pkcs11

import (
	"errors"
	"testing"
)

func TestNoCgo(t *testing.T) {
	if _, err := Open(Config{Module: "/usr/lib/softhsm/libsofthsm2.so"}); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Open: %v, want ErrUnsupported", err)
	}
	if _, _, err := OpenForConsole("m", "", "", nil, nil); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("OpenForConsole: %v, want ErrUnsupported", err)
	}
	if _, err := Tokens("m"); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Tokens: %v, want ErrUnsupported", err)
	}
}
