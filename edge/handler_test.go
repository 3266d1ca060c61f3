package edge

import (
	"strings"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/wire"
)

func TestRedirectsCarryStatusLocationAndCacheHeaders(t *testing.T) {
	o := newFakeOrigin(t)
	o.putLink("def", "https://example.com/def", 0)
	o.putLink("perm", "https://example.com/p?q=1", 301)
	o.putLink("tmp", "https://example.com/t", 307)
	o.putLink("tmp", "https://example.com/t2", 308) // version 2
	e := newTestEdge(t, []string{o.url})

	for _, c := range []struct {
		code, loc, version string
		status             int
	}{{"def", "https://example.com/def", "1", 302}, {"perm", "https://example.com/p?q=1", "1", 301}, {"tmp", "https://example.com/t2", "2", 308}} {
		a := e.get("/" + c.code)
		if a.status != c.status || a.loc != c.loc || a.cache != "MISS" || a.version != c.version {
			t.Fatalf("first GET /%s: %+v", c.code, a)
		}
		eventually(t, time.Second, func() string {
			if a = e.get("/" + c.code); a.status != c.status || a.loc != c.loc || a.cache != "HIT" || a.version != c.version {
				return "second GET /" + c.code + " is not a hit: " + a.cache
			}
			return ""
		})
	}
	if a := e.do("HEAD", "/def"); a.status != 302 || a.loc != "https://example.com/def" || a.body != "" || a.cache != "HIT" {
		t.Fatalf("HEAD: %+v", a)
	}
	if n := o.count(wire.PathLinks); n != 3 {
		t.Fatalf("origin link fetches = %d, want 3 (one per code)", n)
	}
}

func TestStockBodyIsTheOrigins(t *testing.T) {
	o := newFakeOrigin(t)
	o.putStock("SKU-1.a:b", 7)
	e := newTestEdge(t, []string{o.url})
	want := string(o.stocks["SKU-1.a:b"].body)
	a := e.get("/v1/stock/SKU-1.a:b")
	if a.status != 200 || a.body != want || a.cache != "MISS" || a.version != "1" || a.ctype != "application/json" {
		t.Fatalf("stock: %+v, want body %q", a, want)
	}
	eventually(t, time.Second, func() string {
		if a := e.get("/v1/stock/SKU-1.a:b"); a.body != want || a.cache != "HIT" {
			return "stock hit: " + a.cache + " " + a.body
		}
		return ""
	})
	if a := e.get("/v1/stock/unknown"); a.status != 404 || a.cache != "MISS" || a.version != "0" {
		t.Fatalf("unknown sku: %+v", a)
	}
}

func TestBadInputNeverReachesTheOrigin(t *testing.T) {
	o := newFakeOrigin(t)
	e := newTestEdge(t, []string{o.url})
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/-abc", 400}, {"GET", "/_abc", 404}, {"GET", "/a.b", 400}, {"GET", "/a:b", 400},
		{"GET", "/" + strings.Repeat("a", 65), 400}, {"GET", "/%C3%A9", 400}, {"GET", "/a%00b", 400},
		{"GET", "/a%20b", 400}, {"GET", "/a%2Fb", 404}, {"GET", "/a/b", 404}, {"GET", "/", 404},
		{"GET", "/v1/stock/", 400}, {"GET", "/v1/stock/.x", 400}, {"GET", "/v1/stock/a/b", 400},
		{"GET", "/v1/stock/" + strings.Repeat("s", 65), 400}, {"GET", "/v1/stock/a%20b", 400},
		{"GET", "/v1/links/abc", 404}, {"GET", "/v1/stock", 404}, {"GET", "/internal/v1/heads", 404},
		{"GET", "/_/nope", 404}, {"GET", "/../etc/passwd", 404},
		{"POST", "/abc", 405}, {"PUT", "/v1/stock/S", 405}, {"DELETE", "/abc", 405}, {"OPTIONS", "/abc", 405},
		{"POST", "/-bad", 405},
	} {
		a := e.do(c.method, c.path)
		if a.status != c.status || a.cache != "" {
			t.Errorf("%s %s: %d (X-Cache %q), want %d", c.method, c.path, a.status, a.cache, c.status)
		}
		// shared/API.md: a wrong method answers 405 with Allow.
		if c.status == 405 && a.allow != "GET, HEAD" {
			t.Errorf("%s %s: 405 with Allow %q, want \"GET, HEAD\"", c.method, c.path, a.allow)
		}
	}
	for _, p := range []string{wire.PathLinks, wire.PathStock} {
		if n := o.count(p); n != 0 {
			t.Fatalf("bad input made %d origin calls to %s", n, p)
		}
	}
}

func TestHealthReadyAndMetrics(t *testing.T) {
	o := newFakeOrigin(t)
	joined := false
	e := newTestEdge(t, []string{o.url}, func(c *Config) {
		c.Ready = func() bool { return joined }
		c.ReadyWindow = 50 * time.Millisecond
	})
	if a := e.get("/_/healthz"); a.status != 200 {
		t.Fatalf("healthz: %+v", a)
	}
	if a := e.get("/_/readyz"); a.status != 503 {
		t.Fatalf("readyz before joining gossip: %d", a.status)
	}
	joined = true
	if a := e.get("/_/readyz"); a.status != 200 {
		t.Fatalf("readyz joined, origin up: %d", a.status)
	}
	o.kill()
	time.Sleep(60 * time.Millisecond) // past ReadyWindow
	if a := e.get("/_/readyz"); a.status != 503 {
		t.Fatalf("readyz with the origin down: %d", a.status)
	}
	o.restart()
	if a := e.get("/_/readyz"); a.status != 200 {
		t.Fatalf("readyz with the origin back: %d", a.status)
	}
	o.putLink("m", "https://example.com", 302)
	e.get("/m")
	a := e.get("/_/metrics")
	for _, name := range []string{
		"shortstock_edge_answers_total", "shortstock_edge_origin_requests_total", "shortstock_edge_origin_request_seconds",
		"shortstock_edge_cache_cost_bytes", "shortstock_edge_cache_entries", "shortstock_edge_invalidations_applied_total",
		"shortstock_edge_invalidation_delay_seconds", "shortstock_edge_clicks_flushed_total", "shortstock_edge_gap_replays_total",
		"go_goroutines",
	} {
		if a.status != 200 || !strings.Contains(a.body, name) {
			t.Fatalf("metrics lack %s:\n%s", name, a.body)
		}
	}
}

func TestOriginFailoverAndToken(t *testing.T) {
	dead := newFakeOrigin(t)
	dead.kill()
	live := newFakeOrigin(t)
	live.token = wire.ClusterToken([]byte("secret"))
	live.putLink("f", "https://example.com/f", 302)
	e := newTestEdge(t, []string{dead.url, live.url}, func(c *Config) { c.ClusterToken = live.token })
	if a := e.get("/f"); a.status != 302 {
		t.Fatalf("with the first origin dead: %+v", a)
	}
	// The edge sticks to the origin that answered.
	live.putLink("g", "https://example.com/g", 302)
	start := time.Now()
	if a := e.get("/g"); a.status != 302 {
		t.Fatalf("second key: %+v", a)
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Fatalf("second miss took %v: it tried the dead origin first again", d)
	}
	// A wrong token is an origin failure, not an answer.
	e2 := newTestEdge(t, []string{live.url}, func(c *Config) { c.ClusterToken = "wrong" })
	if a := e2.get("/f"); a.status != 503 {
		t.Fatalf("with a wrong token: %+v", a)
	}
}
