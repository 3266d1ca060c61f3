package edge

import (
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/shortstock/shortstock/internal/testutil"
)

func TestGeoIPCountry(t *testing.T) {
	path := testutil.WriteMMDB(t, map[string]string{"81.2.69.0/24": "GB", "89.160.20.0/24": "SE", "127.0.0.0/8": "NL"})
	db, err := openGeoIP(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c := newClassifier(db)
	for ip, want := range map[string]string{
		"81.2.69.142": "GB", "89.160.20.1": "SE", "127.0.0.1": "NL", "8.8.8.8": "unknown", "::1": "unknown",
	} {
		a := netip.MustParseAddr(ip)
		var b []byte
		if a.Is4() {
			v := a.As4()
			b = v[:]
		} else {
			v := a.As16()
			b = v[:]
		}
		if got := c.country(b); got != want {
			t.Errorf("country(%s) = %q, want %q", ip, got, want)
		}
	}
	if got := newClassifier(nil).country([]byte{81, 2, 69, 142}); got != "unknown" {
		t.Errorf("without a database: %q, want unknown", got)
	}
	if _, err := openGeoIP(filepath.Join(t.TempDir(), "none.mmdb")); err == nil {
		t.Error("a missing database opened")
	}
}
