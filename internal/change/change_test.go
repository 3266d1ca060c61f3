package change

import (
	"errors"
	"testing"

	"github.com/shortstock/shortstock/internal/keys"
)

func valid(key string, seq, version uint64) Change {
	return Change{Partition: keys.DefaultSpace().PartitionOfKey(key), Seq: seq, Key: key, Version: version, AtUnixMs: 1700000000123}
}

func TestRoundTrip(t *testing.T) {
	var buf []byte
	withValue := valid("l:val", 9, 4)
	withValue.Value = "\x01\x00{\"code\":\"val\"}"
	in := []Change{valid("l:abc", 1, 1), valid("s:SKU-1.a:b", 1<<40, 77), valid("l:"+string(make64('z')), 3, 2), withValue}
	for _, c := range in {
		buf = c.AppendBinary(buf)
	}
	rest := buf
	for i, want := range in {
		got, r, err := Decode(rest)
		if err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
		if got != want {
			t.Fatalf("change %d: got %+v want %+v", i, got, want)
		}
		rest = r
	}
	if len(rest) != 0 {
		t.Fatalf("%d bytes left over", len(rest))
	}
	if n := len(in[2].AppendBinary(nil)); n > MaxEncodedLen {
		t.Fatalf("encoded %d bytes > MaxEncodedLen %d", n, MaxEncodedLen)
	}
}

func withValue(c Change, v string) Change {
	c.Value = v
	return c
}

// A value is for writes only: a purge carrying one is refused.
func TestValidateRefusesPurgeWithValue(t *testing.T) {
	c := Change{Partition: 0, Seq: 1, Key: PurgeAllKey, Purge: PurgeHard | PurgeAll, Value: "x"}
	c.Partition = keys.DefaultSpace().PartitionOfKey(c.Key)
	if err := c.Validate(); !errors.Is(err, ErrMalformed) {
		t.Fatalf("purge with a value: err = %v, want ErrMalformed", err)
	}
}

func make64(c byte) []byte {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return b
}

func TestDecodeRejects(t *testing.T) {
	good := valid("l:abc", 5, 2)
	wrongPartition := good
	wrongPartition.Partition = (good.Partition + 1) % keys.DefaultPartitions
	for name, b := range map[string][]byte{
		"empty":           nil,
		"bad version":     append([]byte{9}, good.AppendBinary(nil)[1:]...),
		"truncated":       good.AppendBinary(nil)[:6],
		"wrong partition": wrongPartition.AppendBinary(nil),
		"bad kind":        Change{Partition: 0, Seq: 1, Key: "x:abc", Version: 1}.AppendBinary(nil),
		"bad code":        Change{Partition: keys.DefaultSpace().Partition(keys.KindLink, "a/b"), Seq: 1, Key: "l:a/b", Version: 1}.AppendBinary(nil),
		"zero seq":        valid("l:abc", 0, 1).AppendBinary(nil),
		"zero version":    valid("l:abc", 1, 0).AppendBinary(nil),
		"value cut short": withValue(good, "xyz").AppendBinary(nil)[:len(withValue(good, "xyz").AppendBinary(nil))-1],
		"empty value":     append(append([]byte{codecValue}, good.AppendBinary(nil)[1:]...), 0),
		"value too long":  withValue(good, string(make([]byte, MaxValueLen+1))).AppendBinary(nil),
	} {
		if _, _, err := Decode(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(valid("l:abc", 1, 1).AppendBinary(nil))
	f.Add(valid("s:SKU-9", 42, 7).AppendBinary(valid("l:x", 2, 2).AppendBinary(nil)))
	f.Add([]byte{1, 0, 0, 0})
	f.Add(withValue(valid("l:abc", 3, 2), "\x01\x00{}").AppendBinary(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, rest, err := Decode(b)
		if err != nil {
			return
		}
		if len(rest) > len(b) {
			t.Fatal("rest longer than input")
		}
		if c.Validate() != nil {
			t.Fatal("Decode returned an invalid change")
		}
		again, _, err := Decode(c.AppendBinary(nil))
		if err != nil || again != c {
			t.Fatalf("re-encode round trip failed: %+v vs %+v (%v)", again, c, err)
		}
	})
}
