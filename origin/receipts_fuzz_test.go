package origin

import (
	"testing"

	"github.com/shortstock/shortstock/internal/keys"
)

// FuzzParseChangeID: a change id parses only to a valid key and a
// positive version, and prints back to itself.
func FuzzParseChangeID(f *testing.F) {
	for _, s := range []string{"l:abc1234@3", "s:SKU-1.a:b@18446744073709551615", "l:a@0", "l:@1", "x:abc@1", "l:a b@1", "s:SKU@1@2", "@", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		key, v, ok := parseChangeID(id)
		if !ok {
			return
		}
		if v == 0 || keys.DefaultSpace().PartitionOfKey(key) < 0 {
			t.Fatalf("%q parsed to %q@%d", id, key, v)
		}
		if changeID(key, v) != id {
			t.Fatalf("%q parsed to %q@%d, which prints as %q", id, key, v, changeID(key, v))
		}
	})
}
