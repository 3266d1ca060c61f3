package topology

import (
	"testing"

	"github.com/shortstock/shortstock/origin"
)

// TestShortURLsPointAtAnEdge: without a chosen --public-base-url, an
// origin's short URLs (QR codes, the console) point at its region's first
// edge, which only listens after the origin started; a chosen one stays.
func TestShortURLsPointAtAnEdge(t *testing.T) {
	topo := startTopology(t, 2, 1, nil)
	for _, r := range topo.Regions {
		if got, want := r.Origin.Server.ShortURL("abc"), r.Edges[0].URL+"/abc"; got != want {
			t.Errorf("region %s: short URL %s, want %s (its edge)", r.Name, got, want)
		}
	}
	chosen := startTopology(t, 1, 1, func(c *Config) {
		c.Origin = func(_ string, o *origin.Config) { o.PublicBaseURL = "https://sho.rt" }
	})
	if got := chosen.Regions[0].Origin.Server.ShortURL("abc"); got != "https://sho.rt/abc" {
		t.Errorf("chosen base: short URL %s, want https://sho.rt/abc", got)
	}
}
