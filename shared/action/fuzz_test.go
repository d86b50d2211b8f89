package action

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// FuzzParse checks that Parse never panics, refuses with ErrInvalid only,
// and that what it accepts survives Marshal/Parse and Verify without panic.
func FuzzParse(f *testing.F) {
	fx := testFixture(f)
	for _, a := range []Action{
		newAction(f, KindInstall, Args{Packages: []string{"firefox(>=115)", "vlc"}, Force: true}),
		newAction(f, KindCancel, Args{TaskID: "0123"}),
		newAction(f, KindReboot, Args{}),
	} {
		s := sign(f, a, fx.simple, fx.simple.chain(fx.adminCA))
		b, err := s.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, seed := range []string{"", "null", "{}", "[]", `{"action":{"action":"update","hosts":["h"]}}`, "\xff", `{"action":{}}{}`} {
		f.Add([]byte(seed))
	}
	v := fx.verifier()
	v.Nonces = neverSeen{}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse error %v does not wrap ErrInvalid", err)
			}
			return
		}
		canon, err := CanonicalBytes(s.Action)
		if err != nil {
			t.Fatalf("CanonicalBytes of a parsed action: %v", err)
		}
		b, err := s.Marshal()
		if err != nil {
			if len(data) <= MaxSize/2 {
				t.Fatalf("Marshal of a parsed action: %v", err)
			}
			return
		}
		s2, err := Parse(b)
		if err != nil {
			t.Fatalf("Parse(Marshal(s)): %v\n%s", err, b)
		}
		if canon2, _ := CanonicalBytes(s2.Action); !bytes.Equal(canon, canon2) || s2.Signer != s.Signer || s2.Signature != s.Signature {
			t.Fatalf("round trip changed the action:\n%s\n%s", canon, canon2)
		}
		_, _ = v.Verify(context.Background(), s)
	})
}
