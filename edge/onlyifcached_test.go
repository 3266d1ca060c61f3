package edge

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/shortstock/shortstock/internal/wire"
)

func (te *testEdge) getOnlyIfCached(path, cacheControl string) answer {
	te.t.Helper()
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://edge" + path)
	req.Header.Set("Cache-Control", cacheControl)
	te.roundTrip(req, resp)
	return answer{status: resp.StatusCode(), cache: string(resp.Header.Peek("X-Cache")), version: string(resp.Header.Peek("X-Version")), body: string(resp.Body())}
}

// Cache-Control: only-if-cached (RFC 9111 5.2.1.7) asks what the edge
// holds without filling it: a miss answers 504 and calls no origin; a
// cached key is served as usual.
func TestOnlyIfCachedNeverCallsTheOrigin(t *testing.T) {
	o := newFakeOrigin(t)
	o.putLink("held", "https://example.com/held", 302)
	o.putLink("cold", "https://example.com/cold", 302)
	e := newTestEdge(t, []string{o.url}, func(*Config) {})

	if a := e.get("/held"); a.status != 302 {
		t.Fatalf("fill: %+v", a)
	}
	for _, cc := range []string{"only-if-cached", "max-age=0, ONLY-IF-CACHED", " no-transform ,only-if-cached "} {
		if a := e.getOnlyIfCached("/cold", cc); a.status != fasthttp.StatusGatewayTimeout {
			t.Fatalf("Cache-Control %q on an uncached code: %+v, want 504", cc, a)
		}
		if a := e.getOnlyIfCached("/held", cc); a.status != 302 || a.cache != "HIT" {
			t.Fatalf("Cache-Control %q on a cached code: %+v, want a 302 HIT", cc, a)
		}
	}
	if a := e.getOnlyIfCached("/v1/stock/NONE", "only-if-cached"); a.status != fasthttp.StatusGatewayTimeout {
		t.Fatalf("only-if-cached stock miss: %+v", a)
	}
	if got := o.count(wire.PathLinks + "cold"); got != 0 {
		t.Fatalf("only-if-cached misses made %d origin calls, want 0", got)
	}
	// Not the directive: an argument, or another directive's value.
	for _, cc := range []string{"only-if-cached=1", "no-cache", ""} {
		if a := e.getOnlyIfCached("/cold", cc); a.status != 302 {
			t.Fatalf("Cache-Control %q: %+v, want the origin's 302", cc, a)
		}
	}
	if got := o.count(wire.PathLinks + "cold"); got != 1 {
		t.Fatalf("the plain miss made %d origin calls, want 1", got)
	}
}

func TestOnlyIfCachedParsing(t *testing.T) {
	for v, want := range map[string]bool{
		"only-if-cached": true, "Only-If-Cached": true, "a, only-if-cached": true, "only-if-cached,b": true,
		"": false, "only-if-cachedx": false, "xonly-if-cached": false, "only-if-cached=1": false, ",,": false,
	} {
		var h fasthttp.RequestHeader
		if v != "" {
			h.Set("Cache-Control", v)
		}
		if got := onlyIfCached(&h); got != want {
			t.Errorf("%q: %v, want %v", v, got, want)
		}
	}
}
