package origin

import "testing"

// FuzzDecodeCursor: a cursor decodes only if the API could have made it,
// and then round-trips.
func FuzzDecodeCursor(f *testing.F) {
	for _, s := range []string{encodeCursor("abc"), encodeCursor("Z9_-x"), "", "not base64!", "YzEu", "YzEuYSBi"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, c string) {
		code, ok := decodeCursor(c)
		if !ok {
			return
		}
		if again, ok := decodeCursor(encodeCursor(code)); !ok || again != code {
			t.Fatalf("cursor %q -> %q does not round-trip", c, code)
		}
	})
}
