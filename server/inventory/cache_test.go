package inventory

import (
	"fmt"
	"testing"
	"time"
)

// TestCertCacheSweep: the host certificate cache forgets expired entries
// as it is filled, and keeps the fresh ones.
func TestCertCacheSweep(t *testing.T) {
	s := &Service{}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range certCacheSweep * 2 {
		now := t0.Add(time.Duration(i) * time.Second)
		s.cacheHost(fmt.Sprint("fp", i), cachedCert{uuid: "h", until: now.Add(certCacheTTL)})
	}
	if n := len(s.certs); n > int(certCacheTTL/time.Second)+certCacheSweep {
		t.Errorf("%d entries kept, want the unexpired ones only", n)
	}
	last := t0.Add(time.Duration(certCacheSweep*2-1) * time.Second)
	if _, ok := s.cachedHost(fmt.Sprint("fp", certCacheSweep*2-1), last); !ok {
		t.Error("the newest entry was dropped")
	}
}
