package gossip

import (
	"errors"
	"reflect"
	"testing"

	"github.com/shortstock/shortstock/internal/keys"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/; run with e.g.
//
//	go test -run '^$' -fuzz FuzzDecodeMessage -fuzztime 30s ./gossip/

// FuzzDecodeMessage: decoding never panics, rejects with
// ErrMalformedMessage, and whatever it accepts is valid and survives a
// re-encode unchanged.
func FuzzDecodeMessage(f *testing.F) {
	f.Add(appendChangeMessage(nil, linkChange("abc", 1)))
	f.Add(appendChangeMessage(nil, linkChange("a", 1), linkChange("b", 2)))
	f.Add([]byte{msgChanges})
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := decodeMessage(b, nil)
		if err != nil {
			if !errors.Is(err, ErrMalformedMessage) || len(cs) != 0 {
				t.Fatalf("rejection %v with %d changes", err, len(cs))
			}
			return
		}
		if len(cs) == 0 || len(cs) > maxChangesPerMessage {
			t.Fatalf("accepted %d changes", len(cs))
		}
		for _, c := range cs {
			if err := c.Validate(); err != nil {
				t.Fatalf("accepted an invalid change %+v: %v", c, err)
			}
		}
		again, err := decodeMessage(appendChangeMessage(nil, cs...), nil)
		if err != nil || !reflect.DeepEqual(again, cs) {
			t.Fatalf("re-encode changed %+v into %+v, %v", cs, again, err)
		}
	})
}

// FuzzDecodeWatermarks: the push/pull state decoder never panics, rejects
// with ErrMalformedState, and what it accepts obeys the role rules and
// survives a re-encode unchanged.
func FuzzDecodeWatermarks(f *testing.F) {
	marks := make([]uint64, keys.DefaultPartitions)
	marks[3] = 1 << 40
	f.Add(appendState(nil, state{Role: RoleOrigin, Name: "origin", Source: "origin", Watermarks: marks}))
	f.Add(appendState(nil, state{Role: RoleEdge, Name: "edge-1"}))
	f.Add(appendState(nil, state{Role: RoleEdge, Name: "edge-1", Source: "origin", Watermarks: marks}))
	f.Add([]byte{stateVersion, byte(RoleOrigin), 1, 'o', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeState(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedState) {
				t.Fatalf("rejection does not wrap ErrMalformedState: %v", err)
			}
			return
		}
		if !s.Role.valid() || s.Name == "" || len(s.Name) > maxNameLen {
			t.Fatalf("accepted %+v", s)
		}
		if n := len(s.Watermarks); n > keys.MaxPartitions {
			t.Fatalf("accepted %d watermarks", n)
		}
		if len(s.Watermarks) > 0 && (s.Source == "" || (s.Role == RoleOrigin) != (s.Source == s.Name)) {
			t.Fatalf("accepted a %v %q carrying marks of %q", s.Role, s.Name, s.Source)
		}
		again, err := decodeState(appendState(nil, s))
		if err != nil || !reflect.DeepEqual(again, s) {
			t.Fatalf("re-encode changed %+v into %+v, %v", s, again, err)
		}
	})
}
