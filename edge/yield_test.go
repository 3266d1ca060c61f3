package edge

import (
	"bufio"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// yieldPair is a served connection of a yield listener with a fake clock,
// and the client's end, over loopback.
func yieldPair(t *testing.T) (*yieldConn, net.Conn, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	clock := new(atomic.Int64)
	clock.Store(int64(time.Hour)) // far from the zero value
	yl := newYieldListener(ln, clock.Load)
	t.Cleanup(func() { _ = yl.Close() })
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	c, err := yl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c.(*yieldConn), client, clock
}

// TestYieldOnlyWhileTheNetworkIsPolled: a connection yields before the
// read that follows a write only while a read that blocked came back
// within yieldWindow (the scheduler polled the network); never before its
// first write, never while no read has blocked, and not once the last
// wake-up is older than the window.
func TestYieldOnlyWhileTheNetworkIsPolled(t *testing.T) {
	c, client, clock := yieldPair(t)
	buf := make([]byte, 16)
	send := func() {
		t.Helper()
		if _, err := client.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	read := func() {
		t.Helper()
		if _, err := io.ReadFull(c, buf[:1]); err != nil {
			t.Fatal(err)
		}
	}
	reply := func() {
		t.Helper()
		if _, err := c.Write([]byte("y")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(client, buf[:1]); err != nil {
			t.Fatal(err)
		}
	}

	// No read has blocked yet: no yield, even right after a write.
	send()
	read()
	reply()
	send()
	read()
	if c.yields != 0 {
		t.Fatalf("%d yields before any read blocked", c.yields)
	}

	// A read that blocks (the clock moves while it waits) marks the
	// network as polled now.
	reply()
	go func() {
		time.Sleep(20 * time.Millisecond) // let the read park
		clock.Add(int64(time.Millisecond))
		_, _ = client.Write([]byte("x"))
	}()
	read()
	if c.yields != 0 {
		t.Fatalf("a read yielded while the last wake-up was stale (%d)", c.yields)
	}

	// Within the window: the read after a write yields; a read without a
	// write before it does not.
	clock.Add(int64(yieldWindow / 2))
	reply()
	send()
	read()
	if c.yields != 1 {
		t.Fatalf("%d yields after a write within the window, want 1", c.yields)
	}
	send()
	read()
	if c.yields != 1 {
		t.Fatalf("a read not after a write yielded (%d yields)", c.yields)
	}

	// Past the window with no read blocking since: no yield, so yielding
	// goroutines cannot keep the network from being polled.
	clock.Add(int64(yieldWindow))
	reply()
	send()
	read()
	if c.yields != 1 {
		t.Fatalf("%d yields after the window closed, want still 1", c.yields)
	}
}

// TestYieldListenerServesKeepAliveAndPipelined: the edge's server through
// the yield listener answers keep-alive requests one by one and pipelined
// ones in order (the wrapper only yields; it never reorders or drops).
func TestYieldListenerServesKeepAliveAndPipelined(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(fasthttp.StatusFound)
		ctx.Response.Header.Set("Location", "/to"+string(ctx.Path()))
	}}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(YieldListener(ln)) }()
	t.Cleanup(func() {
		_ = srv.Shutdown()
		<-done
	})
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	check := func(path string) {
		t.Helper()
		var resp fasthttp.Response
		if err := resp.Read(br); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode() != fasthttp.StatusFound || string(resp.Header.Peek("Location")) != "/to"+path {
			t.Fatalf("answer %d %q for %s", resp.StatusCode(), resp.Header.Peek("Location"), path)
		}
	}
	for i := range 50 {
		path := "/k" + string(rune('a'+i%26))
		if _, err := conn.Write([]byte("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		check(path)
	}
	var batch []byte
	for i := range 20 {
		batch = append(batch, "GET /p"+string(rune('a'+i))+" HTTP/1.1\r\nHost: x\r\n\r\n"...)
	}
	if _, err := conn.Write(batch); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		check("/p" + string(rune('a'+i)))
	}
}

// TestEdgeServesWithReadYield: an edge with Config.ReadYield serves its
// connections through the yield listener and answers as without it.
func TestEdgeServesWithReadYield(t *testing.T) {
	o := newFakeOrigin(t)
	o.putLink("yld", "https://example.com/yld", 0)
	e := newTestEdge(t, []string{o.url}, func(c *Config) { c.ReadYield = true })
	for i := range 20 {
		a := e.get("/yld")
		if a.status != 302 || a.loc != "https://example.com/yld" {
			t.Fatalf("request %d: %+v", i, a)
		}
	}
	if a := e.get("/nope-yld"); a.status != 404 {
		t.Fatalf("unknown code: %+v", a)
	}
}
