package edge

import (
	"fmt"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// getUA is GET path with a User-Agent; it returns status, Location and
// Cache-Control.
func (te *testEdge) getUA(path, ua string) (int, string, string) {
	te.t.Helper()
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://edge" + path)
	if ua != "" {
		req.Header.SetUserAgent(ua)
	}
	te.roundTrip(req, resp)
	return resp.StatusCode(), string(resp.Header.Peek("Location")), string(resp.Header.Peek("Cache-Control"))
}

const (
	uaIPhoneSafari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
	uaAndroidApp   = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36"
	uaDesktop      = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
)

// TestDeviceTargetsAndQueryForwarding: links created through the real
// origin redirect by User-Agent and forward the request's query, merged
// into a target's own query and kept before its fragment; answers that
// depend on the request are not cacheable downstream.
func TestDeviceTargetsAndQueryForwarding(t *testing.T) {
	ro := newRealOrigin(t)
	e := ro.edge(t)
	ro.mustAdmin("POST", "/v1/links", map[string]any{
		"url": "https://example.com/web?ref=x#top", "code": "dev", "forward_query": true,
		"targets": map[string]any{"ios": "https://apps.apple.com/app/id1", "android": "https://play.google.com/store/apps/details?id=a"},
	}, 201)
	ro.mustAdmin("POST", "/v1/links", map[string]any{"url": "https://example.com/plain", "code": "noq"}, 201)
	ro.mustAdmin("POST", "/v1/links", map[string]any{"url": "https://example.com/p?", "code": "qmark", "forward_query": true}, 201)

	for _, c := range []struct{ path, ua, want string }{
		{"/dev", uaDesktop, "https://example.com/web?ref=x#top"},
		{"/dev", uaDesktop, "https://example.com/web?ref=x#top"}, // a hit
		{"/dev?utm_source=mail&b=2", uaDesktop, "https://example.com/web?ref=x&utm_source=mail&b=2#top"},
		{"/dev?a=1", uaIPhoneSafari, "https://apps.apple.com/app/id1?a=1"},
		{"/dev", uaIPhoneSafari, "https://apps.apple.com/app/id1"},
		{"/dev?a=1", uaAndroidApp, "https://play.google.com/store/apps/details?id=a&a=1"},
		{"/dev", "", "https://example.com/web?ref=x#top"},
		{"/noq?a=1", uaIPhoneSafari, "https://example.com/plain"}, // no forwarding, no targets
		{"/qmark?a=1", uaDesktop, "https://example.com/p?a=1"},
	} {
		st, loc, cc := e.getUA(c.path, c.ua)
		if st != 302 || loc != c.want {
			t.Fatalf("GET %s (UA %.20q): %d %q, want 302 %q", c.path, c.ua, st, loc, c.want)
		}
		if c.path[:4] == "/dev" && cc != "private, no-store" {
			t.Fatalf("GET %s: Cache-Control %q, want private, no-store", c.path, cc)
		}
	}
	// A PATCH that drops the features takes effect at the edge.
	ro.mustAdmin("PATCH", "/v1/links/dev", map[string]any{"forward_query": false, "targets": nil}, 200)
	eventually(t, 2*time.Second, func() string {
		if _, loc, _ := e.getUA("/dev?a=1", uaIPhoneSafari); loc != "https://example.com/web?ref=x#top" {
			return fmt.Sprintf("after PATCH: Location %q", loc)
		}
		return ""
	})
}

// TestValidSinceAtEdge: before valid_since the edge answers 404 like a
// missing link (not cacheable downstream); from then on it redirects,
// without waiting for a cache TTL.
func TestValidSinceAtEdge(t *testing.T) {
	ro := newRealOrigin(t)
	e := ro.edge(t)
	since := time.Now().Add(1500 * time.Millisecond)
	ro.mustAdmin("POST", "/v1/links", map[string]any{"url": "https://example.com/soon", "code": "soon", "valid_since": since.UTC().Format(time.RFC3339Nano)}, 201)
	st, _, cc := e.getUA("/soon", "")
	if st != 404 || cc != "no-store" {
		t.Fatalf("before valid_since: %d %q, want 404 no-store", st, cc)
	}
	if a := e.get("/soon"); a.status != 404 || a.cache != "HIT" {
		t.Fatalf("before valid_since, again: %+v", a)
	}
	eventually(t, 5*time.Second, func() string {
		a := e.get("/soon")
		if a.status != 302 {
			if time.Now().After(since.Add(500 * time.Millisecond)) {
				return fmt.Sprintf("past valid_since: %+v", a)
			}
			return "waiting"
		}
		if time.Now().Before(since) {
			t.Fatalf("redirected before valid_since: %+v", a)
		}
		return ""
	})
}

func TestAppendForwarded(t *testing.T) {
	for _, c := range []struct{ target, q, want string }{
		{"https://a/b", "x=1", "https://a/b?x=1"},
		{"https://a/b?", "x=1", "https://a/b?x=1"},
		{"https://a/b?y=2", "x=1", "https://a/b?y=2&x=1"},
		{"https://a/b?y=2&", "x=1", "https://a/b?y=2&x=1"},
		{"https://a/b#f", "x=1", "https://a/b?x=1#f"},
		{"https://a/b?y#f?g", "x=1", "https://a/b?y&x=1#f?g"},
	} {
		if got := string(appendForwarded(nil, []byte(c.target), []byte(c.q))); got != c.want {
			t.Errorf("appendForwarded(%q, %q) = %q, want %q", c.target, c.q, got, c.want)
		}
	}
}

// TestFeatureHitAllocatesLittle: a hit on a link with device targets and
// query forwarding builds its Location in a pooled buffer; it may
// allocate, but at most a little.
func TestFeatureHitAllocatesLittle(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	o := newFakeOrigin(t)
	o.putLink("feat", "https://example.com/x?a=1", 302)
	o.mu.Lock()
	r := o.links["feat"]
	r.ForwardQuery, r.IOS, r.Android = true, "https://apps.apple.com/app/id1", "https://play.google.com/x"
	o.links["feat"] = r
	o.mu.Unlock()
	e := newTestEdge(t, []string{o.url})
	h := e.srv.Handler()
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("GET")
	ctx.Request.SetRequestURI("/feat?utm_source=x")
	ctx.Request.Header.SetUserAgent(uaIPhoneSafari)
	serve := func() {
		ctx.Response.Reset()
		h(&ctx)
	}
	serve()
	serve()
	e.record(&ctx)
	if got := string(ctx.Response.Header.Peek("Location")); got != "https://apps.apple.com/app/id1?utm_source=x" {
		t.Fatalf("Location %q", got)
	}
	if n := testing.AllocsPerRun(5000, serve); n > 1 {
		t.Fatalf("a feature hit allocates %v times per request, want at most 1", n)
	}
}

func FuzzLinkExt(f *testing.F) {
	f.Add([]byte{extForwardQuery | extIOS, 3, 'a', 'b', 'c'}, []byte("x=1"))
	f.Add([]byte{extAndroid | extMaxVisits, 1, 'z'}, []byte(""))
	f.Add([]byte{extTags, 10, ' ', 't', 'a', 'g', ':', 'p', 'r', 'o', 'm', 'o'}, []byte(""))
	f.Fuzz(func(t *testing.T, ext, q []byte) {
		x, ok := parseLinkExt(ext)
		if !ok {
			return
		}
		for _, s := range [][]byte{x.ios, x.android, x.tags} {
			if len(s) > len(ext) {
				t.Fatalf("target longer than the ext")
			}
		}
		out := appendForwarded(nil, []byte("https://example.com/p?a#f"), q)
		if len(out) != len("https://example.com/p?a#f")+len(q)+1 {
			t.Fatalf("appendForwarded lost or added bytes: %q", out)
		}
	})
}
