package embedded

import (
	"testing"
	"time"
)

// FuzzDecodeAct: the activity record (coldlinks.go) read from disk never
// panics; what it accepts encodes back to the same bytes.
func FuzzDecodeAct(f *testing.F) {
	f.Add(encodeAct(time.Unix(1700000000, 123), 7))
	f.Add(encodeAct(time.Unix(0, 0), 1))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		at, v, ok := decodeAct(b)
		if !ok {
			if len(b) == 16 {
				t.Fatalf("16 bytes refused: %x", b)
			}
			return
		}
		if back := encodeAct(at, v); string(back) != string(b) {
			t.Fatalf("round trip %x -> %x", b, back)
		}
	})
}
