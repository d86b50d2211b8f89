package pkgfile

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSlowInputs(t *testing.T) {
	k := newPKI(t, "ecdsa")
	pkg, _ := os.ReadFile(buildTest(t, sourceFiles(300, 2000), k.codeKey, k.codeChain()))
	lim := Limits{MaxFileSize: 1 << 20, MaxTotalUncompressed: 4 << 20, MaxMemberSize: 2 << 20, MaxMembers: 1000, MaxRatio: 1000}
	r := rand.New(rand.NewPCG(1, 2))
	var worst time.Duration
	for i := 0; i < 20000; i++ {
		b := bytes.Clone(pkg)
		for j := 0; j < 1+r.IntN(4); j++ {
			switch r.IntN(3) {
			case 0:
				b[r.IntN(len(b))] = byte(r.IntN(256))
			case 1:
				p := r.IntN(len(b))
				b = append(b[:p], b[p+1:]...)
			case 2:
				p := r.IntN(len(b))
				b = append(b[:p], append([]byte{byte(r.IntN(256))}, b[p:]...)...)
			}
		}
		start := time.Now()
		p, err := OpenReader(bytes.NewReader(b), int64(len(b)), "f", lim)
		if err == nil {
			for _, e := range p.entries {
				io.Copy(io.Discard, p.open(e))
			}
			if _, err := p.Verify(context.Background(), k.trust, testNow); err == nil {
				p.Extract(context.Background(), filepath.Join(t.TempDir(), "x"))
			}
		}
		if d := time.Since(start); d > worst {
			worst = d
			t.Logf("iteration %d: %v (err %v)", i, d, err)
		}
	}
}
