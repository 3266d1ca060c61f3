package edge

import (
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/wire"
)

// TestStaleWhileRevalidateOverHTTP: past its TTL a link is answered at
// once as STALE-REVALIDATING while one refresh runs, then HIT with what
// the refresh brought.
func TestStaleWhileRevalidateOverHTTP(t *testing.T) {
	o := newFakeOrigin(t)
	o.ttl = 150 * time.Millisecond
	o.putLink("swr", "https://example.com/v1", 302)
	e := newTestEdge(t, []string{o.url}, func(c *Config) { c.RevalidateWindow = time.Minute })
	if a := e.get("/swr"); a.cache != "MISS" {
		t.Fatalf("first: %+v", a)
	}
	o.putLink("swr", "https://example.com/v2", 302) // no invalidation sent: only the TTL can notice
	eventually(t, 5*time.Second, func() string {
		if a := e.get("/swr"); a.cache != "STALE-REVALIDATING" || a.loc != "https://example.com/v1" {
			return "past the TTL: " + a.cache + " " + a.loc
		}
		return ""
	})
	eventually(t, 5*time.Second, func() string {
		if a := e.get("/swr"); a.cache != "HIT" || a.loc != "https://example.com/v2" {
			return "after the refresh: " + a.cache + " " + a.loc
		}
		return ""
	})
	// (Exactly one fetch per revalidation under load: edge/cache's
	// TestRevalidateOneFetchPerRevalidation; here the short TTL may have
	// run out again meanwhile on a slow machine.)
	if n := o.count(wire.PathLinks); n < 2 {
		t.Fatalf("%d link fetches, want the fill and a refresh", n)
	}
}
