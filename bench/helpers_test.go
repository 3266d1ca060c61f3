package bench

import (
	"context"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// serve runs h on a loopback port until the test ends and returns its base
// URL.
func serve(t testing.TB, h fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: h, NoDefaultContentType: true}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		if err := srv.Shutdown(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		<-done
	})
	return "http://" + ln.Addr().String()
}

// waitExactly waits d as precisely as the machine allows: a sleep for all
// but the last 2 ms (timers wake late), then yielding in a loop. The test
// server's "known fixed delay" must be known.
func waitExactly(d time.Duration) {
	until := time.Now().Add(d)
	if d > 2*time.Millisecond {
		time.Sleep(d - 2*time.Millisecond)
	}
	for time.Now().Before(until) {
		runtime.Gosched()
	}
}

// fakeEdge answers like an edge's cache hit: a 302 with Location for a
// code, a 200 for /v1/stock/..., both with X-Cache: HIT and X-Version: 1.
func fakeEdge(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.Set("X-Cache", "HIT")
	ctx.Response.Header.Set("X-Version", "1")
	if strings.HasPrefix(string(ctx.Path()), "/v1/stock/") {
		ctx.SetStatusCode(fasthttp.StatusOK)
		ctx.SetBodyString(`{"available":1}`)
		return
	}
	ctx.Response.Header.Set("Location", "https://example.com/")
	ctx.SetStatusCode(fasthttp.StatusFound)
}

// getOp is the simplest Op: GET one path from one host.
type getOp struct {
	h    *host
	req  fasthttp.Request
	resp fasthttp.Response
}

func newGetOps(t testing.TB, base string, n int) []Op {
	t.Helper()
	h, err := newHost(base, n)
	if err != nil {
		t.Fatal(err)
	}
	ops := make([]Op, n)
	for i := range ops {
		o := &getOp{h: h}
		o.req.SetRequestURI("/x")
		ops[i] = o
	}
	return ops
}

func (o *getOp) Do(_ context.Context, deadline time.Time) Outcome {
	if err := o.h.do(&o.req, &o.resp, deadline); err != nil {
		return Outcome{Err: transportKind("get", err)}
	}
	if o.resp.StatusCode() != fasthttp.StatusOK {
		return Outcome{Err: statusKind("get", o.resp.StatusCode())}
	}
	return Outcome{}
}
