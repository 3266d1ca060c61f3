package edge

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// timeoutPair is a connection accepted by a TimeoutListener with t, and
// the client's end, over loopback.
func timeoutPair(tb testing.TB, t ConnTimeouts) (*timeoutListener, *timeoutConn, net.Conn) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	wrapped, err := TimeoutListener(ln, t)
	if err != nil {
		tb.Fatal(err)
	}
	tl := wrapped.(*timeoutListener)
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	server, err := tl.Accept()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = client.Close()
		_ = server.Close()
		_ = tl.Close()
		select {
		case <-tl.Done():
		case <-time.After(5 * time.Second):
			tb.Error("the reaper did not stop after the listener and its connection closed")
		}
	})
	return tl, server.(*timeoutConn), client
}

// timedRead reads once from c and reports how long it took and the error;
// a read still blocked after limit fails the test (the timeout never
// fired).
func timedRead(t *testing.T, c net.Conn, limit time.Duration) (time.Duration, error) {
	t.Helper()
	type result struct {
		err error
		d   time.Duration
	}
	ch := make(chan result, 1)
	start := time.Now()
	go func() {
		var b [64]byte
		for {
			n, err := c.Read(b[:])
			if err != nil || n == 0 {
				ch <- result{err, time.Since(start)}
				return
			}
		}
	}()
	select {
	case r := <-ch:
		return r.d, r.err
	case <-time.After(limit):
		_ = c.Close()
		<-ch
		t.Fatalf("the read was still blocked after %v: the timeout never fired", limit)
		return 0, nil
	}
}

// startRequest sends a request line from client and reads it on server,
// so server has gone from idle to reading a request.
func startRequest(t *testing.T, client, server net.Conn) {
	t.Helper()
	if _, err := client.Write([]byte("req\n")); err != nil {
		t.Fatal(err)
	}
	var b [16]byte
	if _, err := server.Read(b[:]); err != nil {
		t.Fatal(err)
	}
}

// expiries records OnExpire's calls.
type expiries struct {
	mu  sync.Mutex
	got []string
}

func (e *expiries) on(timeout string) { e.mu.Lock(); e.got = append(e.got, timeout); e.mu.Unlock() }

// want fails unless exactly the timeouts named are reported. The reaper
// reports an expiry after it has ended the connection's wait, so the
// waiter can get there first: want polls, with a deadline.
func (e *expiries) want(t *testing.T, timeouts ...string) {
	t.Helper()
	wanted := strings.Join(timeouts, ",")
	var got []string
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		e.mu.Lock()
		got = append(got[:0], e.got...)
		e.mu.Unlock()
		if strings.Join(got, ",") == wanted || time.Now().After(end) {
			break
		}
	}
	if strings.Join(got, ",") != wanted {
		t.Fatalf("OnExpire reported %q, want %q", got, timeouts)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) && errors.As(err, &ne) && ne.Timeout()
}

func TestTimeoutListenerRejectsBadTimeouts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, ct := range []ConnTimeouts{{Read: time.Second}, {Read: -1, Resolution: time.Millisecond}} {
		if _, err := TimeoutListener(ln, ct); err == nil {
			t.Errorf("TimeoutListener(%+v) = nil error", ct)
		}
	}
}

// A new connection that sends nothing times out after Read, not before.
func TestTimeoutFirstRequestWaitsRead(t *testing.T) {
	const read = 200 * time.Millisecond
	var ex expiries
	_, server, _ := timeoutPair(t, ConnTimeouts{Read: read, Write: time.Hour, Idle: time.Hour, Resolution: 10 * time.Millisecond, OnExpire: ex.on})
	took, err := timedRead(t, server, 10*time.Second)
	if !isTimeout(err) {
		t.Fatalf("read error %v, want a timeout", err)
	}
	if took < read {
		t.Fatalf("timed out after %v, before Read %v", took, read)
	}
	ex.want(t, "read")
}

// A request that has started but does not finish times out after Read
// from its first byte, and the deadline is the reading phase's, not the
// (longer) idle one.
func TestTimeoutReadingPhase(t *testing.T) {
	const read = 200 * time.Millisecond
	_, server, client := timeoutPair(t, ConnTimeouts{Read: read, Write: time.Hour, Idle: time.Hour, Resolution: 10 * time.Millisecond})
	// Go through a whole exchange first, so the connection is idle with
	// its hour-long idle deadline.
	startRequest(t, client, server)
	if _, err := server.Write([]byte("resp 1\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Write([]byte("req 2, cut")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := bufio.NewReader(server).ReadString('\n')
	if !isTimeout(err) {
		t.Fatalf("read error %v, want a timeout", err)
	}
	if took := time.Since(start); took < read {
		t.Fatalf("timed out %v after the request started, before Read %v", took, read)
	}
}

// After a response, the connection waits Idle for the next request (not
// Read, which is shorter here).
func TestTimeoutIdlePhase(t *testing.T) {
	const read, idle = 50 * time.Millisecond, 400 * time.Millisecond
	var ex expiries
	_, server, client := timeoutPair(t, ConnTimeouts{Read: read, Write: time.Hour, Idle: idle, Resolution: 5 * time.Millisecond, OnExpire: ex.on})
	startRequest(t, client, server)
	if _, err := server.Write([]byte("resp\n")); err != nil {
		t.Fatal(err)
	}
	took, err := timedRead(t, server, 10*time.Second)
	if !isTimeout(err) {
		t.Fatalf("read error %v, want a timeout", err)
	}
	if took < idle {
		t.Fatalf("idle connection timed out after %v, before Idle %v", took, idle)
	}
	ex.want(t, "idle")
}

// A response the client does not read times out after Write.
func TestTimeoutWritePhase(t *testing.T) {
	const write = 200 * time.Millisecond
	var ex expiries
	_, server, client := timeoutPair(t, ConnTimeouts{Read: time.Hour, Write: write, Idle: time.Hour, Resolution: 10 * time.Millisecond, OnExpire: ex.on})
	startRequest(t, client, server)
	chunk := make([]byte, 64<<10)
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		for {
			if _, err := server.Write(chunk); err != nil {
				done <- err
				return
			}
		}
	}()
	select {
	case err := <-done:
		if !isTimeout(err) {
			t.Fatalf("write error %v, want a timeout", err)
		}
		if took := time.Since(start); took < write {
			t.Fatalf("timed out after %v, before Write %v", took, write)
		}
		ex.want(t, "write")
	case <-time.After(10 * time.Second):
		t.Fatal("the write was still blocked after 10s: the timeout never fired")
	}
}

// A connection that keeps exchanging requests for many times its
// timeouts never times out: each phase re-arms its deadline, and a
// deadline the reaper expired while the server was busy between phases
// is lifted when the next phase starts.
func TestTimeoutBusyConnectionLives(t *testing.T) {
	const timeout = 30 * time.Millisecond
	_, server, client := timeoutPair(t, ConnTimeouts{Read: timeout, Write: timeout, Idle: timeout, Resolution: time.Millisecond})
	errc := make(chan error, 1)
	go func() {
		br := bufio.NewReader(server)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				errc <- err
				return
			}
			if line == "bye\n" {
				errc <- nil
				return
			}
			// Busy longer than the read deadline now and then: the
			// reaper expires it, and the write must still go through.
			if strings.HasPrefix(line, "slow") {
				time.Sleep(3 * timeout)
			}
			if _, err := server.Write([]byte("ok\n")); err != nil {
				errc <- err
				return
			}
		}
	}()
	cr := bufio.NewReader(client)
	end := time.Now().Add(10 * timeout)
	for i := 0; time.Now().Before(end); i++ {
		req := "fast\n"
		if i%10 == 0 {
			req = "slow\n"
		}
		if _, err := client.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
		if line, err := cr.ReadString('\n'); err != nil || line != "ok\n" {
			t.Fatalf("exchange %d: %q, %v (server: %v)", i, line, err, serverErr(errc))
		}
		time.Sleep(timeout / 3)
	}
	if _, err := client.Write([]byte("bye\n")); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("server side: %v", err)
	}
}

func serverErr(errc chan error) error {
	select {
	case err := <-errc:
		return err
	case <-time.After(time.Second):
		return nil
	}
}

// set and expire race without a lock on the common path; whatever their
// interleaving, once set has stored a future deadline the connection must
// not be left with a passed one.
func TestCoarseDeadlineSetExpireRace(t *testing.T) {
	var d coarseDeadline
	var real atomic.Int64 // the real connection's deadline: 0 none, 1 passed
	setReal := func(at time.Time) error {
		if at.IsZero() {
			real.Store(0)
		} else {
			real.Store(1)
		}
		return nil
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the reaper, as fast as it can
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				d.expire(time.Now().UnixNano(), setReal)
			}
		}
	}()
	future := time.Now().Add(time.Hour).UnixNano()
	bad := 0
	end := time.Now().Add(time.Second)
	for i := 0; bad == 0 && (i%1024 != 0 || time.Now().Before(end)); i++ {
		_ = d.set(1, timeoutRead, setReal) // long passed
		for j := 0; j < i%7; j++ {
			_ = j // let the reaper catch it at different points
		}
		_ = d.set(future, timeoutRead, setReal)
		if real.Load() != 0 {
			bad++
		}
	}
	close(stop)
	wg.Wait()
	if bad > 0 {
		t.Fatal("set stored a future deadline, and the real connection was left with a passed one")
	}
}

// A reaper that runs late does not let a timeout fire early: a
// connection accepted while the reaper is held up (here by a slow
// OnExpire) sets its deadline from a clock older than one Resolution,
// and still gets its whole Read.
func TestTimeoutLateReaperNotEarly(t *testing.T) {
	const read, res, hold = 200 * time.Millisecond, 10 * time.Millisecond, 150 * time.Millisecond
	held := make(chan struct{})
	var once sync.Once
	onExpire := func(string) {
		once.Do(func() {
			close(held)
			time.Sleep(hold) // the reaper is late by this much
		})
	}
	tl, first, _ := timeoutPair(t, ConnTimeouts{Read: read, Resolution: res, OnExpire: onExpire})
	if _, err := timedRead(t, first, 10*time.Second); !isTimeout(err) {
		t.Fatalf("first connection: %v, want a timeout", err)
	}
	<-held
	time.Sleep(hold * 2 / 3) // accept late in the hold: the clock is that stale
	client, err := net.Dial("tcp", tl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	start := time.Now()
	second, err := tl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	_, err = timedRead(t, second, 10*time.Second)
	if !isTimeout(err) {
		t.Fatalf("second connection: %v, want a timeout", err)
	}
	if took := time.Since(start); took < read {
		t.Fatalf("accepted while the reaper was %v late: timed out after %v, before Read %v", hold, took, read)
	}
}

// The reaper's slack never falls below the lateness of a tick still
// within its window (or a timeout could fire early), and a long pause is
// forgotten within two windows even while every tick keeps being a
// little late (or every timeout would fire that much late for good).
func TestLatenessSlack(t *testing.T) {
	const window = 1000
	type tick struct{ at, late int64 }
	rng := rand.New(rand.NewPCG(1, 2))
	for run := 0; run < 200; run++ {
		s := lateness{window: window}
		var ticks []tick
		now := int64(0)
		for i := 0; i < 500; i++ {
			now += 1 + rng.Int64N(50)
			late := rng.Int64N(5) - 2 // jitter: a little early or late
			if rng.IntN(40) == 0 {
				late = rng.Int64N(300) // a pause
			}
			got := s.observe(now, late)
			ticks = append(ticks, tick{now, late})
			var need int64
			for _, tk := range ticks {
				if tk.at+window >= now {
					need = max(need, tk.late)
				}
			}
			if got < need {
				t.Fatalf("run %d, tick %d: slack %d below the lateness %d of a tick within its window", run, i, got, need)
			}
		}
	}
	// One long pause, then ticks that are all slightly late.
	s := lateness{window: window}
	s.observe(10, 500)
	var got int64
	for now := int64(20); now <= 10+2*window+20; now += 10 {
		got = s.observe(now, 2)
	}
	if got != 2 {
		t.Fatalf("two windows after a pause of 500, with every tick 2 late: slack %d, want 2", got)
	}
}

// The reaper returns once the listener and the connections it accepted
// are closed, not before, and at once: its tick is an hour here, so only
// the listener's and the last connection's Close can end it.
func TestTimeoutListenerReaperLifetime(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wrapped, err := TimeoutListener(ln, ConnTimeouts{Read: time.Hour, Resolution: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	tl := wrapped.(*timeoutListener)
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := tl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	_ = tl.Close()
	// Still enforcing the open connection's timeouts.
	time.Sleep(20 * time.Millisecond)
	select {
	case <-tl.Done():
		t.Fatal("the reaper stopped while a connection was open")
	default:
	}
	_ = server.Close()
	select {
	case <-tl.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the reaper did not stop after the last connection closed")
	}
	if _, err := tl.Accept(); err == nil {
		t.Fatal("Accept after Close succeeded")
	}
	_, _ = io.Copy(io.Discard, client)
}

// The edge answers a request that does not arrive in full within
// ReadTimeout with 408, and closes a keep-alive connection idle for
// IdleTimeout, with coarse timeouts (the default) as with exact ones.
func TestEdgeConnectionTimeouts(t *testing.T) {
	const read, idle = 300 * time.Millisecond, 800 * time.Millisecond
	for _, mode := range []struct {
		name string
		res  time.Duration
	}{{"coarse", 0}, {"exact", -1}} {
		t.Run(mode.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Origins = []string{"http://127.0.0.1:1"} // never asked: no request here misses
			cfg.Logger = quietLogger()
			cfg.HeadsPollInterval = 0
			cfg.ReadTimeout, cfg.IdleTimeout = read, idle
			cfg.DeadlineResolution = mode.res
			srv, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ln) }()
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := srv.Shutdown(ctx); err != nil {
					t.Errorf("Shutdown: %v", err)
				}
				if err := <-served; err != nil {
					t.Errorf("Serve: %v", err)
				}
			}()
			dial := func() (net.Conn, *bufio.Reader) {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = c.Close() })
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second)) // the test's own bound
				return c, bufio.NewReader(c)
			}

			// A request cut off after its first header line: 408.
			c, br := dial()
			start := time.Now()
			fmt.Fprint(c, "GET /healthz HTTP/1.1\r\nHost: edge\r\n")
			status, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("slow request: no answer: %v", err)
			}
			if took := time.Since(start); took < read {
				t.Fatalf("408 after %v, before ReadTimeout %v", took, read)
			}
			if !strings.HasPrefix(status, "HTTP/1.1 408") {
				t.Fatalf("slow request answered %q, want 408", status)
			}

			// A keep-alive connection idle after its answer: closed after
			// IdleTimeout (longer than ReadTimeout here), not before.
			c, br = dial()
			fmt.Fprint(c, "GET /favicon.ico HTTP/1.1\r\nHost: edge\r\n\r\n")
			if status, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(status, "HTTP/1.1 200") {
				t.Fatalf("favicon: %q, %v", status, err)
			}
			start = time.Now()
			_, err = io.Copy(io.Discard, br) // the rest of the answer, then EOF
			if err != nil {
				t.Fatalf("idle connection: %v, want it closed by the edge", err)
			}
			if took := time.Since(start); took < idle {
				t.Fatalf("idle connection closed after %v, before IdleTimeout %v", took, idle)
			}

			// With coarse timeouts each one is counted, by timeout.
			want := map[string]string{"read": "1", "idle": "1", "write": "0"}
			if mode.res < 0 {
				want = map[string]string{"read": "0", "idle": "0", "write": "0"}
			}
			metrics := func() string {
				c, br := dial()
				fmt.Fprint(c, "GET /_/metrics HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n\r\n")
				body, _ := io.ReadAll(br)
				return string(body)
			}
			// The reaper counts a timeout after it has ended the wait, so
			// the page may lag the client's EOF a little: poll.
			var lacking []string
			for end := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				page := metrics()
				lacking = lacking[:0]
				for timeout, n := range want {
					line := fmt.Sprintf(`shortstock_edge_connection_timeouts_total{node="%s",region="%s",timeout="%s"} %s`, srv.cfg.NodeName, srv.cfg.Region, timeout, n)
					if !strings.Contains(page, line+"\n") {
						lacking = append(lacking, line)
					}
				}
				if len(lacking) == 0 || time.Now().After(end) {
					break
				}
			}
			for _, line := range lacking {
				t.Errorf("metrics lack %q", line)
			}
		})
	}
}
