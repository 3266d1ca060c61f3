package edge

import (
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// TestHitPathAllocatesNothing runs the real handler on a reused RequestCtx,
// the way fasthttp's server does, for a redirect hit and a stock hit.
func TestHitPathAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	o := newFakeOrigin(t)
	o.putLink("abc1234", "https://example.com/landing?utm=x", 302)
	o.putStock("SKU-42", 5)
	o.putLinkExpiring("exp1234", "https://example.com/ends", 301, time.Now().Add(time.Hour))
	o.putLink("tag1234", "https://example.com/tagged", 302)
	o.setTags("tag1234", "promo", "spring-2026")
	e := newTestEdge(t, []string{o.url})
	h := e.srv.Handler()

	for _, c := range []struct{ name, method, path string }{
		{"redirect", "GET", "/abc1234"},
		{"redirect-head", "HEAD", "/abc1234"},
		{"stock", "GET", "/v1/stock/SKU-42"},
		// Its cache lifetimes are cut to its expiry per request.
		{"redirect-expiring", "GET", "/exp1234"},
		// Its Surrogate-Key names its tags, from prebuilt bytes.
		{"redirect-tagged", "GET", "/tag1234"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var ctx fasthttp.RequestCtx
			ctx.Request.Header.SetMethod(c.method)
			ctx.Request.SetRequestURI(c.path)
			serve := func() {
				ctx.Response.Reset()
				h(&ctx)
			}
			serve() // miss: fill the cache
			e.record(&ctx)
			serve()
			e.record(&ctx)
			if got := string(ctx.Response.Header.Peek("X-Cache")); got != "HIT" {
				t.Fatalf("X-Cache %q, want HIT", got)
			}
			if n := testing.AllocsPerRun(10000, serve); n != 0 {
				t.Fatalf("a %s hit allocates %v times per request, want 0", c.name, n)
			}
		})
	}
}
