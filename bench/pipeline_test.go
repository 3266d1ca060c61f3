package bench

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// countingListener counts the connections a server accepted.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

// servePipelined serves h on loopback and returns its address, the
// listener (to count connections) and a stop function (idempotent).
func servePipelined(t *testing.T, h fasthttp.RequestHandler) (string, *countingListener, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	srv := &fasthttp.Server{Handler: h, NoDefaultContentType: true}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(cl) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			if err := srv.Shutdown(); err != nil {
				t.Errorf("shutdown: %v", err)
			}
			<-done
		})
	}
	t.Cleanup(stop)
	return ln.Addr().String(), cl, stop
}

// get sends GET path through p and returns the answer's X-Path.
func get(p *pipeClient, path string, timeout time.Duration) (string, error) {
	var req fasthttp.Request
	var resp fasthttp.Response
	req.SetRequestURI(path)
	req.Header.SetHost("test")
	if err := p.do(&req, &resp, time.Now().Add(timeout)); err != nil {
		return "", err
	}
	return string(resp.Header.Peek("X-Path")), nil
}

// Every caller gets its own answer, whatever the interleaving on the
// shared connections, and no more connections are opened than asked for.
func TestPipeClientMatchesAnswersToRequests(t *testing.T) {
	addr, ln, _ := servePipelined(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetBytesV("X-Path", ctx.Path())
		ctx.Redirect("https://example.com/", fasthttp.StatusFound)
	})
	p := newPipeClient(addr, 2)
	defer p.close()
	const callers, each = 32, 200
	var wg sync.WaitGroup
	var wrong, failed atomic.Int64
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var req fasthttp.Request
			var resp fasthttp.Response
			req.Header.SetHost("test")
			for i := range each {
				path := fmt.Sprintf("/c%d-%d", c, i)
				req.SetRequestURI(path)
				if err := p.do(&req, &resp, time.Now().Add(5*time.Second)); err != nil {
					failed.Add(1)
					continue
				}
				if got := string(resp.Header.Peek("X-Path")); got != path || resp.StatusCode() != fasthttp.StatusFound {
					wrong.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 || wrong.Load() > 0 {
		t.Fatalf("of %d requests, %d failed and %d got another's answer", callers*each, failed.Load(), wrong.Load())
	}
	if n := ln.accepted.Load(); n != 2 {
		t.Errorf("%d connections opened, want the 2 asked for", n)
	}
}

// A request whose answer does not come fails as a timeout, no later than
// its deadline plus the deadline step, and the connection is replaced for
// the next request.
func TestPipeClientTimesOut(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	addr, _, _ := servePipelined(t, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/stall" {
			<-release
		}
		ctx.Response.Header.SetBytesV("X-Path", ctx.Path())
	})
	p := newPipeClient(addr, 1)
	defer p.close()
	const timeout = 100 * time.Millisecond
	start := time.Now()
	_, err := get(p, "/stall", timeout)
	took := time.Since(start)
	if got := transportKind("read", err); got != "read_timeout" {
		t.Fatalf("stalled request: %v (%s), want a timeout", err, got)
	}
	// The guarantee: by the deadline rounded up to the step. Scheduling on
	// a loaded machine may add to it, never this much.
	if took < timeout || took > timeout+pipeDeadlineStep+time.Second {
		t.Errorf("timed out after %v, want %v to %v", took, timeout, timeout+pipeDeadlineStep)
	}
	if got, err := get(p, "/next", 5*time.Second); err != nil || got != "/next" {
		t.Errorf("after a timeout: %q, %v; want a new connection to answer", got, err)
	}
}

// When the server goes away, requests fail instead of hanging, and no
// goroutine keeps redialing (the package's TestMain checks for leaks after
// close).
func TestPipeClientServerGone(t *testing.T) {
	addr, _, stop := servePipelined(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetBytesV("X-Path", ctx.Path())
	})
	p := newPipeClient(addr, 2)
	defer p.close()
	if _, err := get(p, "/a", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	stop()
	for i := range 4 {
		if _, err := get(p, "/b", 5*time.Second); err == nil {
			t.Fatalf("request %d answered with the server gone", i)
		}
	}
}

// "Connection: close" ends the connection after its answer; the next
// request dials a new one.
func TestPipeClientConnectionClose(t *testing.T) {
	addr, ln, _ := servePipelined(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetBytesV("X-Path", ctx.Path())
		if strings.HasPrefix(string(ctx.Path()), "/close") {
			ctx.SetConnectionClose()
		}
	})
	p := newPipeClient(addr, 1)
	defer p.close()
	for _, path := range []string{"/close1", "/after", "/close2", "/after2"} {
		got, err := get(p, path, 5*time.Second)
		if err != nil || got != path {
			t.Fatalf("%s: %q, %v", path, got, err)
		}
	}
	if n := ln.accepted.Load(); n != 3 {
		t.Errorf("%d connections, want 3 (one more after each close)", n)
	}
}

func TestPipeClientClosed(t *testing.T) {
	addr, _, _ := servePipelined(t, func(ctx *fasthttp.RequestCtx) {})
	p := newPipeClient(addr, 1)
	if _, err := get(p, "/", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	p.close()
	p.close() // idempotent
	if _, err := get(p, "/", 5*time.Second); !errors.Is(err, errPipeClosed) {
		t.Errorf("after close: %v, want errPipeClosed", err)
	}
}

// gatedConn holds its first Write until gate is closed and records how
// many requests each Write carried.
type gatedConn struct {
	net.Conn
	gate   chan struct{}
	first  sync.Once
	mu     sync.Mutex
	writes []int
}

func (c *gatedConn) Write(b []byte) (int, error) {
	c.first.Do(func() { <-c.gate })
	c.mu.Lock()
	c.writes = append(c.writes, strings.Count(string(b), "GET "))
	c.mu.Unlock()
	return c.Conn.Write(b)
}

// Under a queue that never runs dry, a write still carries at most
// pipeFlushEvery requests: none waits for the buffer to fill.
func TestPipeClientFlushesUnderASteadyQueue(t *testing.T) {
	addr, _, _ := servePipelined(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetBytesV("X-Path", ctx.Path())
	})
	gc := &gatedConn{gate: make(chan struct{})}
	p := newPipeClientDial(addr, 1, func(a string, timeout time.Duration) (net.Conn, error) {
		nc, err := net.DialTimeout("tcp", a, timeout)
		gc.Conn = nc
		return gc, err
	})
	defer p.close()
	openGate := sync.OnceFunc(func() { close(gc.gate) })
	defer openGate() // before close: a held write would keep its link alive
	const n = 3 * pipeFlushEvery
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got, err := get(p, fmt.Sprintf("/q%d", i), 10*time.Second); err != nil || got != fmt.Sprintf("/q%d", i) {
				failed.Add(1)
			}
		}()
	}
	// Let them all queue behind the held first write (the writer has
	// taken the first pipeFlushEvery into its buffer and is flushing them).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		p.conns[0].mu.Lock()
		l := p.conns[0].link
		p.conns[0].mu.Unlock()
		if l != nil && len(l.calls)+len(l.inflight) >= n-1 { // and one the reader holds
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the requests never queued: link %v, failed %d", l != nil, failed.Load())
		}
	}
	openGate()
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d of %d requests failed", failed.Load(), n)
	}
	gc.mu.Lock()
	defer gc.mu.Unlock()
	for _, w := range gc.writes {
		if w > pipeFlushEvery {
			t.Fatalf("a write carried %d requests, at most %d wanted (writes: %v)", w, pipeFlushEvery, gc.writes)
		}
	}
}
