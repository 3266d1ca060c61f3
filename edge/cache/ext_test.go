package cache

import (
	"bytes"
	"testing"

	"github.com/shortstock/shortstock/internal/keys"
)

// TestEntryExt: an entry's Ext comes back byte for byte and leaves the
// rest of the answer (Location or Body, Content-Type) as it was.
func TestEntryExt(t *testing.T) {
	ext := []byte{1, 3, 'a', 'b', 'c'}
	for _, a := range []Answer{
		{Kind: keys.KindLink, ID: "abc", Status: 302, Version: 12, Location: "https://example.com/x", Ext: ext},
		{Kind: keys.KindStock, ID: "SKU", Status: 200, Version: 3, Body: []byte(`{"sku":"SKU"}`), ContentType: []byte("text/x-custom"), Ext: ext},
		{Kind: keys.KindLink, ID: "plain", Status: 302, Version: 1, Location: "https://example.com/p"},
	} {
		e, err := NewEntry(a)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(e.Ext(), a.Ext) || e.HasExt() != (len(a.Ext) > 0) {
			t.Fatalf("%s: Ext %v, want %v", a.ID, e.Ext(), a.Ext)
		}
		if string(e.Location()) != a.Location || !bytes.Equal(e.Body(), a.Body) || e.Version() != a.Version || e.ID() != a.ID {
			t.Fatalf("%s: answer changed: loc %q body %q version %d", a.ID, e.Location(), e.Body(), e.Version())
		}
		if len(a.ContentType) > 0 && !bytes.Equal(e.ContentType(), a.ContentType) {
			t.Fatalf("%s: Content-Type %q", a.ID, e.ContentType())
		}
	}
}
