package edge

import (
	"testing"
	"time"
)

// TestStaleIfErrorWithFakeOrigin: with the origin killed, cached keys keep
// answering (STALE once past their TTL), uncached keys get a quick 503,
// and once the origin is back the edge serves fresh data by itself.
func TestStaleIfErrorWithFakeOrigin(t *testing.T) {
	o := newFakeOrigin(t)
	o.ttl = 100 * time.Millisecond
	o.putLink("s1", "https://example.com/v1", 302)
	o.putStock("K1", 3)
	// No stale-while-revalidate (swr_test.go covers it with the origin down).
	e := newTestEdge(t, []string{o.url}, func(c *Config) { c.StaleGrace = 10 * time.Second; c.RevalidateWindow = 0 })
	if a := e.get("/s1"); a.status != 302 || a.cache != "MISS" {
		t.Fatalf("warm: %+v", a)
	}
	e.get("/v1/stock/K1")

	o.kill()
	time.Sleep(150 * time.Millisecond) // past the TTL
	for range 3 {
		if a := e.get("/s1"); a.status != 302 || a.cache != "STALE" || a.loc != "https://example.com/v1" || a.version != "1" {
			t.Fatalf("cached link, origin down, past TTL: %+v", a)
		}
		if a := e.get("/v1/stock/K1"); a.status != 200 || a.cache != "STALE" {
			t.Fatalf("cached stock, origin down, past TTL: %+v", a)
		}
	}
	start := time.Now()
	a := e.get("/never-cached")
	took := time.Since(start)
	if a.status != 503 {
		t.Fatalf("uncached key, origin down: %+v", a)
	}
	t.Logf("uncached key with the origin down answered 503 in %v", took)
	if took > time.Second {
		t.Fatalf("503 took %v, want well under 1s", took)
	}

	o.putLink("s1", "https://example.com/v2", 302) // written while the edge could not see it
	o.restart()
	eventually(t, 3*time.Second, func() string {
		if a := e.get("/s1"); a.status != 302 || a.loc != "https://example.com/v2" || a.version != "2" || a.cache == "STALE" {
			return "after the origin came back: " + a.cache + " " + a.loc
		}
		return ""
	})
}

// TestStaleGraceEnds: past TTL plus grace a cached key is no longer served.
func TestStaleGraceEnds(t *testing.T) {
	o := newFakeOrigin(t)
	o.ttl = 50 * time.Millisecond
	o.putLink("g", "https://example.com/g", 302)
	e := newTestEdge(t, []string{o.url}, func(c *Config) { c.StaleGrace = 100 * time.Millisecond; c.RevalidateWindow = 0 })
	e.get("/g")
	o.kill()
	time.Sleep(80 * time.Millisecond)
	if a := e.get("/g"); a.cache != "STALE" {
		t.Fatalf("within grace: %+v", a)
	}
	time.Sleep(100 * time.Millisecond)
	if a := e.get("/g"); a.status != 503 {
		t.Fatalf("past grace: %+v", a)
	}
}
