package edge

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/shortstock/shortstock/internal/clock"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/wire"
)

// putLinkExpiring stores a link with an expiry (version + 1).
func (o *fakeOrigin) putLinkExpiring(code, url string, redirect int, at time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r := o.links[code]
	r.Code, r.URL, r.Redirect, r.ExpiresAt = code, url, redirect, &at
	r.Version++
	o.links[code] = r
	o.appendChangeLocked(keys.Key(keys.KindLink, code), r.Version)
}

// appendOnly records a change in the log without telling the edge (a
// write whose gossip was lost).
func (o *fakeOrigin) appendOnly(key string, version uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.appendChangeLocked(key, version)
}

// parseCacheControl parses a Cache-Control field value by RFC 9111 5.2:
// #cache-directive, cache-directive = token [ "=" ( token / quoted-string ) ].
// Directive names are case-insensitive; a repeated directive is an error
// (RFC 9111 4.2.1 makes such a response stale).
func parseCacheControl(v string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.Split(v, ",") {
		part = strings.Trim(part, " \t")
		if part == "" {
			continue // RFC 9110 5.6.1: empty list elements are allowed
		}
		name, val, hasVal := strings.Cut(part, "=")
		if !isToken(name) {
			return nil, fmt.Errorf("directive %q: name is not a token", part)
		}
		if hasVal {
			if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
				val = val[1 : len(val)-1]
			} else if !isToken(val) {
				return nil, fmt.Errorf("directive %q: value is neither token nor quoted-string", part)
			}
		}
		name = strings.ToLower(name)
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("directive %q repeated", name)
		}
		out[name] = val
	}
	return out, nil
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// deltaSeconds parses delta-seconds (RFC 9111 1.2.2): 1*DIGIT, no sign.
func deltaSeconds(t *testing.T, what, v string) int64 {
	t.Helper()
	if v == "" || strings.TrimLeft(v, "0123456789") != "" {
		t.Fatalf("%s = %q: not delta-seconds (1*DIGIT)", what, v)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("%s = %q: %v", what, v, err)
	}
	return n
}

type cacheAnswer struct {
	status                           int
	cc, sc, skey, age, bound, xcache string
	ctype                            string
	body                             string
}

func (te *testEdge) doCache(method, path string) cacheAnswer {
	te.t.Helper()
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://edge" + path)
	if method == "HEAD" {
		resp.SkipBody = true
	}
	te.roundTrip(req, resp)
	return cacheAnswer{
		status: resp.StatusCode(),
		cc:     string(resp.Header.Peek("Cache-Control")),
		sc:     string(resp.Header.Peek("Surrogate-Control")),
		skey:   string(resp.Header.Peek("Surrogate-Key")),
		age:    string(resp.Header.Peek("Age")),
		bound:  string(resp.Header.Peek("X-Staleness-Bound-Ms")),
		xcache: string(resp.Header.Peek("X-Cache")),
		ctype:  string(resp.Header.ContentType()),
		body:   string(resp.Body()),
	}
}

// TestCacheHeadersFollowThePolicy checks every class of answer, by GET
// and HEAD, miss and hit, against RFC 9111 / RFC 5861 grammar and the
// configured policy.
func TestCacheHeadersFollowThePolicy(t *testing.T) {
	o := newFakeOrigin(t)
	o.putLink("temp302", "https://example.com/a", 302)
	o.putLink("temp307", "https://example.com/a", 307)
	o.putLink("perm301", "https://example.com/a", 301)
	o.putLink("perm308", "https://example.com/a", 308)
	o.putLink("edited301", "https://example.com/a", 301)
	o.putLink("edited301", "https://example.com/b", 301) // version 2: edited
	o.putLinkExpiring("expiring301", "https://example.com/a", 301, time.Now().Add(90*time.Second))
	o.putStock("SKU-1", 3)
	e := newTestEdge(t, []string{o.url}, func(c *Config) {
		c.RedirectMaxAge = 5 * time.Second
		c.PermanentMaxAge = time.Hour
		c.SharedMaxAge = 120 * time.Second
		c.StaleWhileRevalidate = 30 * time.Second
		c.StaleIfError = 600 * time.Second
		c.NegativeTTL = 4 * time.Second
	})

	type want struct {
		maxAge, sMaxAge, swr, sie int64 // -1: must be absent
		skey                      string
	}
	for _, c := range []struct {
		path   string
		status int
		want   want
	}{
		{"/temp302", 302, want{5, 120, 30, 600, "link:temp302"}},
		{"/temp307", 307, want{5, 120, 30, 600, "link:temp307"}},
		{"/perm301", 301, want{3600, 120, 30, 600, "link:perm301"}},
		{"/perm308", 308, want{3600, 120, 30, 600, "link:perm308"}},
		// Edited: a browser must not keep it as permanent.
		{"/edited301", 301, want{5, 120, 30, 600, "link:edited301"}},
		{"/v1/stock/SKU-1", 200, want{0, 120, 30, 600, "sku:SKU-1"}},
		{"/nosuchcode", 404, want{0, 4, -1, -1, "link:nosuchcode"}},
	} {
		t.Run(strings.TrimPrefix(c.path, "/"), func(t *testing.T) {
			for i, method := range []string{"GET", "GET", "HEAD"} {
				a := e.doCache(method, c.path)
				if a.status != c.status {
					t.Fatalf("%s %s: status %d, want %d", method, c.path, a.status, c.status)
				}
				checkCacheAnswer(t, method, a, c.want.maxAge, c.want.sMaxAge, c.want.swr, c.want.sie)
				if a.skey != c.want.skey {
					t.Errorf("%s: Surrogate-Key %q, want %q", method, a.skey, c.want.skey)
				}
				if i == 0 && a.xcache == "MISS" && a.age != "0" {
					t.Errorf("a fresh fill (MISS) has Age %q, want 0", a.age)
				}
			}
		})
	}

	t.Run("expiring", func(t *testing.T) {
		for _, method := range []string{"GET", "HEAD", "GET"} {
			a := e.doCache(method, "/expiring301")
			if a.status != 301 {
				t.Fatalf("status %d", a.status)
			}
			cc, err := parseCacheControl(a.cc)
			if err != nil {
				t.Fatal(err)
			}
			maxAge := deltaSeconds(t, "max-age", cc["max-age"])
			shared := deltaSeconds(t, "s-maxage", cc["s-maxage"])
			left := int64(90)
			if maxAge > 5 {
				t.Errorf("max-age %d: a link with an expiry is bounded (RedirectMaxAge 5)", maxAge)
			}
			if shared > left || shared < left-10 {
				t.Errorf("s-maxage %d, want the ~%ds left before the expiry", shared, left)
			}
			for _, d := range []string{"stale-while-revalidate", "stale-if-error"} {
				if v, ok := cc[d]; ok && shared+deltaSeconds(t, d, v) > left {
					t.Errorf("s-maxage %d + %s %s reaches past the expiry (%ds)", shared, d, v, left)
				}
			}
			sc, err := parseCacheControl(a.sc)
			if err != nil || sc["max-age"] != cc["s-maxage"] {
				t.Errorf("Surrogate-Control %q, want max-age = s-maxage %s (%v)", a.sc, cc["s-maxage"], err)
			}
		}
	})

	t.Run("edge-made answers are not stored", func(t *testing.T) {
		for _, p := range []string{"/bad!code", "/a/b", "/_/healthz", "/_/metrics"} {
			for _, m := range []string{"GET", "HEAD"} {
				if a := e.doCache(m, p); a.cc != "no-store" {
					t.Errorf("%s %s (%d): Cache-Control %q, want no-store", m, p, a.status, a.cc)
				}
			}
		}
	})
}

// checkCacheAnswer checks the cache headers of one answer; -1 means the
// directive must be absent.
func checkCacheAnswer(t *testing.T, method string, a cacheAnswer, maxAge, sMaxAge, swr, sie int64) {
	t.Helper()
	cc, err := parseCacheControl(a.cc)
	if err != nil {
		t.Fatalf("%s: Cache-Control %q: %v", method, a.cc, err)
	}
	for _, d := range []struct {
		name string
		want int64
	}{{"max-age", maxAge}, {"s-maxage", sMaxAge}, {"stale-while-revalidate", swr}, {"stale-if-error", sie}} {
		v, ok := cc[d.name]
		switch {
		case d.want < 0 && ok:
			t.Errorf("%s: Cache-Control %q has %s, want none", method, a.cc, d.name)
		case d.want >= 0 && !ok:
			t.Errorf("%s: Cache-Control %q lacks %s", method, a.cc, d.name)
		case ok && deltaSeconds(t, d.name, v) != d.want:
			t.Errorf("%s: Cache-Control %q: %s=%s, want %d", method, a.cc, d.name, v, d.want)
		}
	}
	for _, d := range []string{"no-store", "no-cache", "private"} {
		if _, ok := cc[d]; ok {
			t.Errorf("%s: cacheable answer has %s", method, d)
		}
	}
	sc, err := parseCacheControl(a.sc)
	if err != nil {
		t.Fatalf("%s: Surrogate-Control %q: %v", method, a.sc, err)
	}
	if sc["max-age"] != cc["s-maxage"] {
		t.Errorf("%s: Surrogate-Control max-age %q, want s-maxage %q", method, sc["max-age"], cc["s-maxage"])
	}
	deltaSeconds(t, "Age", a.age)
	deltaSeconds(t, "X-Staleness-Bound-Ms", a.bound)
}

// TestStalenessBoundFollowsCatchUp: the bound grows with the time since
// the edge last confirmed it had applied its origin's whole change log;
// a heads poll that finds it caught up resets it; a poll that finds
// changes it has not applied does not, until they are applied.
func TestStalenessBoundFollowsCatchUp(t *testing.T) {
	o := newFakeOrigin(t)
	o.putLink("abc", "https://example.com/a", 302)
	clk := clock.NewFake(time.Now())
	e := newTestEdge(t, []string{o.url}, func(c *Config) {
		c.Clock = clk
		c.GapGrace = time.Hour // catch-up happens only when the test says
	})
	bound := func() (int64, int64) {
		t.Helper()
		a := e.doCache("GET", "/abc")
		return deltaSeconds(t, "X-Staleness-Bound-Ms", a.bound), deltaSeconds(t, "Age", a.age)
	}
	if b, _ := bound(); b != 0 {
		t.Fatalf("right after first contact: bound %d ms, want 0 (fake clock)", b)
	}
	clk.Advance(2500 * time.Millisecond)
	if b, age := bound(); b != 2500 || age != 2 {
		t.Fatalf("2.5 s later: bound %d ms, Age %d; want 2500 and 2", b, age)
	}
	if !e.srv.pollHeads() {
		t.Fatal("heads poll failed")
	}
	if b, age := bound(); b != 0 || age != 0 {
		t.Fatalf("after a poll that found the edge caught up: bound %d ms, Age %d; want 0", b, age)
	}

	// A write the edge never heard of: the next poll sees a head it has
	// not reached, so the bound keeps growing until it is applied.
	clk.Advance(time.Second)
	o.appendOnly(keys.Key(keys.KindLink, "other"), 1)
	e.srv.pollHeads()
	clk.Advance(500 * time.Millisecond)
	if b, _ := bound(); b != 1500 {
		t.Fatalf("behind its origin: bound %d ms, want 1500 (not reset by the poll)", b)
	}
	p := keys.DefaultSpace().PartitionOfKey(keys.Key(keys.KindLink, "other"))
	e.srv.replay(p)
	e.srv.confirmCatchUp()
	if b, _ := bound(); b != 500 {
		t.Fatalf("after catching up: bound %d ms, want 500 (the time since that poll)", b)
	}
	clk.Advance(time.Second)
	if b, _ := bound(); b != 1500 {
		t.Fatalf("a second later: bound %d ms, want 1500", b)
	}

	// The origin gone: nothing is confirmed and the bound keeps growing.
	o.kill()
	clk.Advance(time.Second)
	e.srv.pollHeads()
	if b, _ := bound(); b != 2500 {
		t.Fatalf("origin down: bound %d ms, want 2500", b)
	}
}

func TestFaviconAndRobots(t *testing.T) {
	o := newFakeOrigin(t)
	e := newTestEdge(t, []string{o.url})
	for _, m := range []string{"GET", "HEAD"} {
		a := e.doCache(m, "/robots.txt")
		if a.status != 200 || !strings.HasPrefix(a.ctype, "text/plain") {
			t.Fatalf("%s /robots.txt: %d %q", m, a.status, a.ctype)
		}
		if m == "GET" && a.body != "User-agent: *\nDisallow: /\n" {
			t.Fatalf("default robots.txt %q does not disallow everything", a.body)
		}
		f := e.doCache(m, "/favicon.ico")
		if f.status != 200 || f.ctype != "image/x-icon" {
			t.Fatalf("%s /favicon.ico: %d %q", m, f.status, f.ctype)
		}
		if m == "GET" {
			checkICO(t, []byte(f.body))
		}
	}
	if a := e.doCache("POST", "/robots.txt"); a.status != 405 {
		t.Fatalf("POST /robots.txt: %d, want 405", a.status)
	}
	if o.count(wire.PathLinks) != 0 {
		t.Fatal("favicon or robots reached the origin")
	}

	custom := "User-agent: *\nAllow: /\n"
	e2 := newTestEdge(t, []string{o.url}, func(c *Config) { c.Robots = custom })
	if a := e2.doCache("GET", "/robots.txt"); a.body != custom {
		t.Fatalf("configured robots.txt: %q", a.body)
	}
}

// checkICO checks the ICO container: header, one entry whose size and
// offset match the file.
func checkICO(t *testing.T, b []byte) {
	t.Helper()
	if len(b) < 22 || binary.LittleEndian.Uint16(b[0:]) != 0 || binary.LittleEndian.Uint16(b[2:]) != 1 || binary.LittleEndian.Uint16(b[4:]) != 1 {
		t.Fatalf("favicon is not an ICO with one image: % x", b)
	}
	size, off := binary.LittleEndian.Uint32(b[14:]), binary.LittleEndian.Uint32(b[18:])
	if int(off)+int(size) != len(b) || binary.LittleEndian.Uint32(b[off:]) != 40 {
		t.Fatalf("favicon image at %d+%d, file %d bytes", off, size, len(b))
	}
}
