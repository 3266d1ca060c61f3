package edge

import (
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// benchEdge is an edge over a fake origin with one link and one SKU cached.
func benchEdge(b *testing.B) (*Server, *fakeOrigin) {
	b.Helper()
	o := newFakeOrigin(b)
	o.putLink("abc1234", "https://example.com/landing?utm=bench", 302)
	o.putStock("SKU-42", 5)
	cfg := DefaultConfig()
	cfg.Origins = []string{o.url}
	cfg.Logger = quietLogger()
	cfg.HeadsPollInterval = 0
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s, o
}

func benchHandler(b *testing.B, method, path string) {
	s, _ := benchEdge(b)
	h := s.Handler()
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(path)
	h(&ctx) // fill
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ctx.Response.Reset()
		h(&ctx)
	}
	if string(ctx.Response.Header.Peek("X-Cache")) != "HIT" {
		b.Fatal("not a hit")
	}
}

// BenchmarkHandlerHitRedirect is the redirect hit path without the network.
func BenchmarkHandlerHitRedirect(b *testing.B) { benchHandler(b, "GET", "/abc1234") }

// BenchmarkHandlerHitStock is the stock hit path without the network.
func BenchmarkHandlerHitStock(b *testing.B) { benchHandler(b, "GET", "/v1/stock/SKU-42") }

// BenchmarkServerHitRedirect goes through fasthttp's server (request parse,
// response write) over an in-memory connection, one keep-alive client per
// parallel worker.
func BenchmarkServerHitRedirect(b *testing.B) {
	s, _ := benchEdge(b)
	ln := fasthttputil.NewInmemoryListener()
	go s.Serve(ln) //nolint:errcheck // returns at Close
	c := &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }, ReadTimeout: 5 * time.Second}
	// Do, not Get: Get would follow the redirect.
	warm := fasthttp.AcquireRequest()
	warm.SetRequestURI("http://edge/abc1234")
	if err := c.Do(warm, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req := fasthttp.AcquireRequest()
		resp := fasthttp.AcquireResponse()
		req.SetRequestURI("http://edge/abc1234")
		for pb.Next() {
			if err := c.Do(req, resp); err != nil || resp.StatusCode() != 302 {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkHandlerHitRedirect100k reads random links of 100 K cached ones:
// unlike BenchmarkHandlerHitRedirect, whose one entry stays in the CPU
// cache, each hit here pays for the memory it touches (the cache's map,
// the entry, the admission counters).
func BenchmarkHandlerHitRedirect100k(b *testing.B) {
	const n = 100_000
	s, o := benchEdge(b)
	paths := make([][]byte, n)
	for i := range paths {
		code := fmt.Sprintf("r%06d", i)
		o.putLink(code, "https://example.com/landing/"+code, 302)
		paths[i] = []byte("/" + code)
	}
	h := s.Handler()
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("GET")
	for _, p := range paths {
		ctx.Request.SetRequestURIBytes(p)
		ctx.Response.Reset()
		h(&ctx)
	}
	time.Sleep(100 * time.Millisecond) // ristretto applies Sets asynchronously
	rand.Shuffle(n, func(i, j int) { paths[i], paths[j] = paths[j], paths[i] })
	b.ReportAllocs()
	b.ResetTimer()
	i, misses := 0, 0
	for b.Loop() {
		ctx.Request.SetRequestURIBytes(paths[i])
		ctx.Response.Reset()
		h(&ctx)
		if string(ctx.Response.Header.Peek("X-Cache")) != "HIT" {
			misses++
		}
		if i++; i == n {
			i = 0
		}
	}
	b.ReportMetric(float64(misses)/float64(b.N), "miss/op")
}
