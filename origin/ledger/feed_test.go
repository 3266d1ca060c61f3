package ledger

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"testing"
)

func TestCursorRoundTrip(t *testing.T) {
	c := make(Cursor, 1024)
	for i := range c {
		if i%3 != 0 {
			c[i] = uint64(i*i*1000 + i)
		}
	}
	c[1023] = ^uint64(0)
	got, err := ParseCursor(c.String())
	if err != nil || !got.Equal(c) {
		t.Fatalf("round trip: %v %v", got, err)
	}
	if z, err := ParseCursor(""); err != nil || !z.Equal(nil) {
		t.Fatalf("empty cursor: %v %v", z, err)
	}
	if z, err := ParseCursor(Cursor(nil).String()); err != nil || !z.Equal(nil) {
		t.Fatalf("zero cursor: %v %v", z, err)
	}
	// The dense form of 64-partition stores still parses.
	var dense []byte
	for i := range 64 {
		dense = binary.AppendUvarint(dense, uint64(i*7))
	}
	old, err := ParseCursor(base64.RawURLEncoding.EncodeToString(dense))
	if err != nil || len(old) != 64 || old[63] != 63*7 {
		t.Fatalf("dense cursor: %v %v", old, err)
	}
	for _, bad := range []string{"!!", "AA", "2.!!", "2.AA", "2.AQ", c.String() + "AA", "gICAgICAgICAgAE"} {
		if _, err := ParseCursor(bad); !errors.Is(err, ErrCursor) {
			t.Fatalf("ParseCursor(%q) = %v, want ErrCursor", bad, err)
		}
	}
}

func FuzzParseCursor(f *testing.F) {
	var c Cursor
	f.Add(c.String())
	c = make(Cursor, 6)
	c[5] = 300
	f.Add(c.String())
	f.Add("AA")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCursor(s)
		if err != nil {
			return
		}
		again, err := ParseCursor(c.String())
		if err != nil || !again.Equal(c) {
			t.Fatalf("%q parses to a cursor that does not round-trip", s)
		}
	})
}
