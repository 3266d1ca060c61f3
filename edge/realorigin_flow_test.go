package edge

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin"
	"github.com/shortstock/shortstock/origin/store"
)

// TestEndToEndWithRealOrigin: links and stock written through the real
// origin's admin API are served by the edge, and every write reaches it
// through the change log (tailer -> "gossip" -> HandleChange).
func TestEndToEndWithRealOrigin(t *testing.T) {
	ro := newRealOrigin(t)
	e := ro.edge(t)

	ro.mustAdmin("POST", "/v1/links", map[string]any{"url": "https://example.com/a", "code": "e2e"}, 201)
	if a := e.get("/e2e"); a.status != 302 || a.loc != "https://example.com/a" || a.cache != "MISS" || a.version != "1" {
		t.Fatalf("first GET: %+v", a)
	}
	if a := e.get("/e2e"); a.cache != "HIT" {
		t.Fatalf("second GET: %+v", a)
	}
	ro.mustAdmin("PATCH", "/v1/links/e2e", map[string]any{"redirect": 301, "url": "https://example.com/b"}, 200)
	eventually(t, 2*time.Second, func() string {
		if a := e.get("/e2e"); a.status != 301 || a.loc != "https://example.com/b" || a.version != "2" {
			return fmt.Sprintf("after PATCH: %+v", a)
		}
		return ""
	})
	ro.mustAdmin("DELETE", "/v1/links/e2e", nil, 204)
	eventually(t, 2*time.Second, func() string {
		if a := e.get("/e2e"); a.status != 404 || a.version != "3" {
			return fmt.Sprintf("after DELETE: %+v", a)
		}
		return ""
	})
	// A 404 cached for a code that does not exist yet is superseded by its
	// creation (a fresh code: a deleted one stays taken by its tombstone).
	if a := e.get("/later"); a.status != 404 || a.version != "0" {
		t.Fatalf("unknown code: %+v", a)
	}
	ro.mustAdmin("POST", "/v1/links", map[string]any{"url": "https://example.com/c", "code": "later", "redirect": 307}, 201)
	eventually(t, 2*time.Second, func() string {
		if a := e.get("/later"); a.status != 307 || a.version != "1" {
			return fmt.Sprintf("after create: %+v", a)
		}
		return ""
	})

	// Stock: the body is the origin's, byte for byte.
	ro.mustAdmin("PUT", "/v1/stock/SKU-9/w1", map[string]any{"on_hand": 5}, 200)
	want := string(ro.mustAdmin("GET", "/v1/stock/SKU-9", nil, 200))
	if a := e.get("/v1/stock/SKU-9"); a.status != 200 || a.body != want || a.version != "1" {
		t.Fatalf("stock: %+v, want %s", a, want)
	}
	ro.mustAdmin("POST", "/v1/stock/SKU-9/w1/adjust", map[string]any{"delta": -2}, 200)
	want = string(ro.mustAdmin("GET", "/v1/stock/SKU-9", nil, 200))
	eventually(t, 2*time.Second, func() string {
		if a := e.get("/v1/stock/SKU-9"); a.body != want {
			return fmt.Sprintf("stock after adjust: %s, want %s", a.body, want)
		}
		return ""
	})
	var v store.StockView
	if err := json.Unmarshal([]byte(e.get("/v1/stock/SKU-9").body), &v); err != nil || v.Available != 3 {
		t.Fatalf("stock view %+v %v", v, err)
	}
}

// TestStaleIfErrorWithRealOrigin: with the origin's listener killed,
// cached keys keep answering, STALE once past their TTL; uncached ones get
// 503 quickly; once the origin is back, fresh data.
func TestStaleIfErrorWithRealOrigin(t *testing.T) {
	ro := newRealOrigin(t, func(c *origin.Config) {
		c.LinkCacheTTL = 150 * time.Millisecond
		c.StockCacheTTL = 150 * time.Millisecond
	})
	// No stale-while-revalidate: the first request past the TTL would be
	// served STALE-REVALIDATING before the edge knows the origin is down.
	e := ro.edge(t, func(c *Config) { c.StaleGrace = time.Minute; c.RevalidateWindow = 0 })
	ro.mustAdmin("POST", "/v1/links", map[string]any{"url": "https://example.com/s", "code": "stale1"}, 201)
	ro.mustAdmin("PUT", "/v1/stock/ST/w", map[string]any{"on_hand": 1}, 200)
	e.get("/stale1")
	e.get("/v1/stock/ST")

	ro.kill()
	time.Sleep(200 * time.Millisecond)
	for range 5 {
		if a := e.get("/stale1"); a.status != 302 || a.cache != "STALE" || a.version != "1" {
			t.Fatalf("cached link with the origin down: %+v", a)
		}
		if a := e.get("/v1/stock/ST"); a.status != 200 || a.cache != "STALE" {
			t.Fatalf("cached stock with the origin down: %+v", a)
		}
	}
	start := time.Now()
	if a := e.get("/uncached"); a.status != 503 {
		t.Fatalf("uncached with the origin down: %+v", a)
	}
	took := time.Since(start)
	t.Logf("uncached key, origin down: 503 in %v", took)
	if took > time.Second {
		t.Fatalf("503 took %v", took)
	}

	ro.restart()
	ro.mustAdmin("PATCH", "/v1/links/stale1", map[string]any{"url": "https://example.com/fresh"}, 200)
	eventually(t, 3*time.Second, func() string {
		if a := e.get("/stale1"); a.loc != "https://example.com/fresh" || a.cache == "STALE" {
			return fmt.Sprintf("after the origin came back: %+v", a)
		}
		return ""
	})
	if a := e.get("/uncached"); a.status != 404 {
		t.Fatalf("uncached after recovery: %+v", a)
	}
}

// TestClicksReachRealOrigin: redirects served by the edge show up in the
// origin's stats.
func TestClicksReachRealOrigin(t *testing.T) {
	ro := newRealOrigin(t)
	e := ro.edge(t)
	ro.mustAdmin("POST", "/v1/links", map[string]any{"url": "https://example.com/k", "code": "clk"}, 201)
	for range 25 {
		if a := e.get("/clk"); a.status != 302 {
			t.Fatalf("GET: %+v", a)
		}
	}
	e.do("HEAD", "/clk")
	eventually(t, 3*time.Second, func() string {
		var s struct {
			Clicks int64 `json:"clicks"`
		}
		_ = json.Unmarshal(ro.mustAdmin("GET", "/v1/links/clk/stats", nil, 200), &s)
		if s.Clicks != 25 {
			return fmt.Sprintf("origin counts %d clicks, want 25", s.Clicks)
		}
		return ""
	})
}

// TestCatchUpFromRealOriginLog: with gossip cut, writes still reach the
// edge, from the origin's heads and change log.
func TestCatchUpFromRealOriginLog(t *testing.T) {
	ro := newRealOrigin(t)
	e := ro.edge(t, func(c *Config) { c.HeadsPollInterval = 50 * time.Millisecond })
	ro.mustAdmin("POST", "/v1/links", map[string]any{"url": "https://example.com/1", "code": "cu"}, 201)
	e.get("/cu")
	ro.gossip.Store(false)
	ro.mustAdmin("PATCH", "/v1/links/cu", map[string]any{"url": "https://example.com/2"}, 200)
	eventually(t, 3*time.Second, func() string {
		if a := e.get("/cu"); a.loc != "https://example.com/2" {
			return fmt.Sprintf("without gossip: %+v", a)
		}
		return ""
	})
	if n := testutilCounter(e, "shortstock_edge_changes_replayed_total"); n == "0" || n == "" {
		t.Fatalf("changes replayed = %q", n)
	}
}
