package edge

import (
	"fmt"
	"testing"
	"time"
)

// TestPushedValuesSpareTheRefetch: with the real origin, a write's change
// carries the key's new answer, and an edge that holds the key serves the
// new version as a HIT without fetching it (the cache's Loads stay put);
// the bodies are the origin's, byte for byte; a deleted link becomes a
// cached 404. A key the edge does not hold is not added by a push.
func TestPushedValuesSpareTheRefetch(t *testing.T) {
	ro := newRealOrigin(t)
	e := ro.edge(t)

	ro.mustAdmin("POST", "/v1/links", map[string]any{"url": "https://example.com/a", "code": "pushed"}, 201)
	ro.mustAdmin("PUT", "/v1/stock/SKU-P/w1", map[string]any{"on_hand": 5}, 200)
	if a := e.get("/pushed"); a.cache != "MISS" {
		t.Fatalf("first GET: %+v", a)
	}
	if a := e.get("/v1/stock/SKU-P"); a.cache != "MISS" {
		t.Fatalf("first stock GET: %+v", a)
	}
	loads := e.srv.cache.Stats().Loads.Load()

	ro.mustAdmin("PATCH", "/v1/links/pushed", map[string]any{"url": "https://example.com/b"}, 200)
	eventually(t, 2*time.Second, func() string {
		if a := e.get("/pushed"); a.loc != "https://example.com/b" || a.version != "2" || a.cache != "HIT" {
			return fmt.Sprintf("after PATCH: %+v, want a HIT on version 2", a)
		}
		return ""
	})
	ro.mustAdmin("POST", "/v1/stock/SKU-P/w1/adjust", map[string]any{"delta": -2, "reason": "sold"}, 200)
	want := string(ro.mustAdmin("GET", "/v1/stock/SKU-P", nil, 200))
	eventually(t, 2*time.Second, func() string {
		if a := e.get("/v1/stock/SKU-P"); a.body != want || a.cache != "HIT" {
			return fmt.Sprintf("stock after adjust: %+v, want a HIT with %s", a, want)
		}
		return ""
	})
	ro.mustAdmin("DELETE", "/v1/links/pushed", nil, 204)
	eventually(t, 2*time.Second, func() string {
		if a := e.get("/pushed"); a.status != 404 || a.version != "3" || a.cache != "HIT" {
			return fmt.Sprintf("after DELETE: %+v, want a cached 404 of version 3", a)
		}
		return ""
	})
	if got := e.srv.cache.Stats().Loads.Load(); got != loads {
		t.Fatalf("%d origin fetches after the writes; pushed values should have spared them", got-loads)
	}
	if got := e.srv.cache.Stats().Updates.Load(); got != 3 {
		t.Fatalf("pushed updates = %d, want 3", got)
	}

	// Not held here: the push leaves it out, the first GET fetches.
	ro.mustAdmin("POST", "/v1/links", map[string]any{"url": "https://example.com/c", "code": "notheld"}, 201)
	ro.mustAdmin("PATCH", "/v1/links/notheld", map[string]any{"url": "https://example.com/d"}, 200)
	eventually(t, 2*time.Second, func() string {
		if n := e.srv.cache.Stats().UpdatesSkipped.Load(); n < 2 {
			return fmt.Sprintf("pushes skipped = %d, want the create and the PATCH of a key not held", n)
		}
		return ""
	})
	if a := e.get("/notheld"); a.cache != "MISS" || a.loc != "https://example.com/d" {
		t.Fatalf("a key not held: %+v, want a MISS fetching version 2", a)
	}
}

// With IgnorePushedValues the edge treats a change with a value as a plain
// invalidation: the next GET fetches.
func TestIgnorePushedValues(t *testing.T) {
	ro := newRealOrigin(t)
	e := ro.edge(t, func(c *Config) { c.IgnorePushedValues = true })
	ro.mustAdmin("POST", "/v1/links", map[string]any{"url": "https://example.com/a", "code": "ign"}, 201)
	e.get("/ign")
	ro.mustAdmin("PATCH", "/v1/links/ign", map[string]any{"url": "https://example.com/b"}, 200)
	eventually(t, 2*time.Second, func() string {
		if a := e.get("/ign"); a.loc != "https://example.com/b" {
			return fmt.Sprintf("after PATCH: %+v", a)
		}
		return ""
	})
	if n := e.srv.cache.Stats().Updates.Load(); n != 0 {
		t.Fatalf("%d pushed updates installed with IgnorePushedValues", n)
	}
}
