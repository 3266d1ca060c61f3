package gossip

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/keys"
)

func TestMessageRoundTrip(t *testing.T) {
	cs := []change.Change{linkChange("a", 1), linkChange("b-2", 1<<40), {
		Partition: keys.DefaultSpace().Partition(keys.KindStock, "SKU:1"), Seq: 9, Key: "s:SKU:1", Version: 3, AtUnixMs: -5,
	}}
	msg := appendChangeMessage(nil, cs...)
	got, err := decodeMessage(msg, nil)
	if err != nil || !reflect.DeepEqual(got, cs) {
		t.Fatalf("round trip: %v, %v", got, err)
	}
	// A bad change anywhere rejects the whole message, and dst is kept.
	dst := []change.Change{cs[0]}
	bad := append(appendChangeMessage(nil, cs[:2]...), 1, 2)
	if got, err := decodeMessage(bad, dst); !errors.Is(err, ErrMalformedMessage) || len(got) != 1 {
		t.Fatalf("bad tail: %v, %v", got, err)
	}
	one := linkChange("x", 1)
	if n := len(appendChangeMessage(nil, one)); n > 1+change.MaxEncodedLen {
		t.Fatalf("message of one change is %d bytes", n)
	}
}

func TestMessageChangeLimit(t *testing.T) {
	cs := make([]change.Change, maxChangesPerMessage+1)
	for i := range cs {
		cs[i] = linkChange("k", uint64(i+1))
	}
	if _, err := decodeMessage(appendChangeMessage(nil, cs[:maxChangesPerMessage]...), nil); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	if _, err := decodeMessage(appendChangeMessage(nil, cs...), nil); !errors.Is(err, ErrMalformedMessage) {
		t.Fatalf("over the limit: %v", err)
	}
}

func TestStateRoundTrip(t *testing.T) {
	w := make([]uint64, keys.DefaultPartitions)
	for i := range w {
		w[i] = uint64(i) << (i % 60)
	}
	for _, s := range []state{
		{Role: RoleOrigin, Name: "origin-eu", Source: "origin-eu", Watermarks: w},
		{Role: RoleOrigin, Name: "fresh-origin"},
		{Role: RoleEdge, Name: "édge-1"},
		{Role: RoleEdge, Name: "edge-2", Source: "origin-eu", Watermarks: w},
	} {
		b := appendState(nil, s)
		got, err := decodeState(b)
		if err != nil || !reflect.DeepEqual(got, s) {
			t.Fatalf("round trip of %+v: %+v, %v", s, got, err)
		}
	}
	if n := len(appendState(nil, state{Role: RoleOrigin, Name: "o", Source: "o", Watermarks: make([]uint64, keys.DefaultPartitions)})); n > keys.DefaultPartitions+16 {
		t.Errorf("an origin's state with zero marks is %d bytes; the codec is not compact", n)
	}
}

func TestStateRejects(t *testing.T) {
	marks := make([]uint64, keys.DefaultPartitions)
	cases := map[string][]byte{
		"empty":           nil,
		"version":         {9, 1, 1, 'x', 0},
		"role":            {1, 7, 1, 'x', 0},
		"no name":         {1, 1, 0, 0},
		"short name":      {1, 1, 5, 'x'},
		"bad utf8":        {1, 1, 1, 0xff, 0},
		"edge own marks":  appendState(nil, state{Role: RoleEdge, Name: "e", Source: "e", Watermarks: marks}),
		"origin relaying": appendState(nil, state{Role: RoleOrigin, Name: "o", Source: "p", Watermarks: marks}),
		"no source":       appendState(nil, state{Role: RoleEdge, Name: "e", Watermarks: marks}),
		"too many marks":  appendState(nil, state{Role: RoleOrigin, Name: "o", Source: "o", Watermarks: make([]uint64, keys.MaxPartitions+1)}),
		"trailing":        append(appendState(nil, state{Role: RoleEdge, Name: "e"}), 0),
		"truncated mark":  appendState(nil, state{Role: RoleOrigin, Name: "o", Source: "o", Watermarks: marks})[:20],
		"huge count":      {1, 2, 1, 'o', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	}
	for name, b := range cases {
		if _, err := decodeState(b); !errors.Is(err, ErrMalformedState) {
			t.Errorf("%s: decodeState = %v, want ErrMalformedState", name, err)
		}
	}
}

func TestVersionCache(t *testing.T) {
	vc := newVersionCache(2)
	if !vc.advance("a", 5, false) || vc.advance("a", 5, false) || !vc.advance("a", 5, true) || vc.advance("a", 4, true) {
		t.Fatal("newer/equal/older rules broken")
	}
	vc.advance("b", 1, false)
	vc.advance("c", 1, false) // rotates: a, b move to the old generation
	if v, ok := vc.latest("a"); !ok || v != 5 {
		t.Fatalf("a forgotten too early: %d %v", v, ok)
	}
	if vc.advance("a", 3, false) { // found in old, promoted, still not newer
		t.Fatal("older version accepted after rotation")
	}
	vc.advance("d", 1, false)
	vc.advance("e", 1, false) // two more rotations: b is gone
	if _, ok := vc.latest("b"); ok {
		t.Fatal("b kept beyond capacity")
	}
	if n := vc.len(); n > 4 {
		t.Fatalf("cache holds %d keys with capacity 2", n)
	}
}

func TestRelayedMarks(t *testing.T) {
	var r relayedMarks
	now := time.Now()
	ttl := time.Second
	if src, w := r.snapshot(now, ttl); src != "" || w != nil {
		t.Fatal("empty relay has marks")
	}
	a := make([]uint64, keys.DefaultPartitions)
	a[1] = 5
	r.merge("o1", a, false, now)
	a[1] = 99 // the relay keeps its own copy
	b := make([]uint64, keys.DefaultPartitions)
	b[2] = 7
	r.merge("o1", b, false, now.Add(500*time.Millisecond))
	src, w := r.snapshot(now.Add(time.Second), ttl)
	if src != "o1" || w[1] != 5 || w[2] != 7 {
		t.Fatalf("merge = %s %v", src, w[:3])
	}
	// Not advancing, and not from the origin: the copy ages out.
	r.merge("o1", b, false, now.Add(1400*time.Millisecond))
	if _, w := r.snapshot(now.Add(1600*time.Millisecond), ttl); w != nil {
		t.Fatal("stale marks still relayed")
	}
	// Straight from the origin refreshes even without a change.
	r.merge("o1", b, true, now.Add(2*time.Second))
	if _, w := r.snapshot(now.Add(2500*time.Millisecond), ttl); w == nil {
		t.Fatal("direct marks not refreshed")
	}
}
