package ledger

import (
	"errors"
	"testing"
)

func TestCursorRoundTrip(t *testing.T) {
	var c Cursor
	for i := range c {
		c[i] = uint64(i*i*1000 + i)
	}
	c[63] = ^uint64(0)
	got, err := ParseCursor(c.String())
	if err != nil || got != c {
		t.Fatalf("round trip: %v %v", got, err)
	}
	if z, err := ParseCursor(""); err != nil || z != (Cursor{}) {
		t.Fatalf("empty cursor: %v %v", z, err)
	}
	for _, bad := range []string{"!!", "AA", c.String() + "AA", "gICAgICAgICAgAE"} {
		if _, err := ParseCursor(bad); !errors.Is(err, ErrCursor) {
			t.Fatalf("ParseCursor(%q) = %v, want ErrCursor", bad, err)
		}
	}
}

func FuzzParseCursor(f *testing.F) {
	var c Cursor
	f.Add(c.String())
	c[5] = 300
	f.Add(c.String())
	f.Add("AA")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCursor(s)
		if err != nil {
			return
		}
		again, err := ParseCursor(c.String())
		if err != nil || again != c {
			t.Fatalf("%q parses to a cursor that does not round-trip", s)
		}
	})
}
