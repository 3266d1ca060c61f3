package edge

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Coarse connection timeouts. With ReadTimeout, WriteTimeout and
// IdleTimeout set, fasthttp arms three deadlines per keep-alive request
// (the idle read deadline, the read deadline once the request starts,
// the write deadline), each a time.Now and a runtime timer update. A
// TimeoutListener enforces the same three timeouts itself: a connection
// notes which phase it is in (idle, reading a request, writing a
// response) from its own Read and Write calls and stores the phase's
// deadline, read from a coarse clock, in an atomic; one reaper goroutine
// per listener wakes every Resolution, advances that clock and expires
// the connections whose deadline has passed by giving the real
// connection a deadline in the past. That ends a Read or Write blocked on
// it with os.ErrDeadlineExceeded, as fasthttp's own deadline would, so
// fasthttp answers 408 or closes the connection the same way. nginx
// keeps its timers alike (a cached clock, one tree checked once per
// event loop turn). Measured in docs/bench.md ("Coarse connection
// timeouts").
//
// The price is precision: a timeout fires no earlier than configured and
// at most two Resolutions later, plus however late the reaper itself runs
// (which also holds expiries back, so none fires early; see reap). The edge uses a
// resolution of at most a tenth of its shortest timeout.

// ConnTimeouts are the timeouts a TimeoutListener enforces; 0 means none.
type ConnTimeouts struct {
	// Read bounds reading a request, from its first byte to its last,
	// and waiting for the first request of a new connection (fasthttp's
	// ReadTimeout).
	Read time.Duration
	// Write bounds writing a response (fasthttp's WriteTimeout).
	Write time.Duration
	// Idle bounds waiting for the next request on a keep-alive
	// connection; 0 means Read, as in fasthttp.
	Idle time.Duration
	// Resolution is how often the deadlines are checked; it must be > 0.
	Resolution time.Duration
	// OnExpire, if set, is called from the reaper each time it ends a
	// connection's wait: with "read" (the first request, or a request
	// under way), "idle" (between requests) or "write".
	OnExpire func(timeout string)
}

// The timeouts, as OnExpire names them.
const (
	timeoutRead = iota
	timeoutIdle
	timeoutWrite
)

var timeoutNames = [...]string{timeoutRead: "read", timeoutIdle: "idle", timeoutWrite: "write"}

// TimeoutListener wraps ln so that its connections time out as t says,
// checked every t.Resolution by one goroutine (see above). Serve it with
// a fasthttp.Server whose own ReadTimeout, WriteTimeout and IdleTimeout
// are 0. The goroutine runs until ln is closed and every connection it
// accepted is closed.
func TimeoutListener(ln net.Listener, t ConnTimeouts) (net.Listener, error) {
	if t.Resolution <= 0 {
		return nil, errors.New("edge: TimeoutListener needs a Resolution > 0")
	}
	if t.Read < 0 || t.Write < 0 || t.Idle < 0 {
		return nil, errors.New("edge: TimeoutListener timeouts must not be negative")
	}
	if t.Idle == 0 {
		t.Idle = t.Read
	}
	l := &timeoutListener{
		Listener: ln,
		t:        t,
		conns:    make(map[*timeoutConn]struct{}),
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	l.now.Store(time.Now().UnixNano())
	go l.reap()
	return l, nil
}

// ListenerTimeouts is what an edge with c enforces through a
// TimeoutListener, its defaults filled in; ok is false when c asks for
// exact deadlines (DeadlineResolution < 0), which fasthttp then sets
// itself. The resolution is at most a tenth of the shortest timeout, so
// none fires more than ~20 % late.
func (c Config) ListenerTimeouts() (t ConnTimeouts, ok bool) {
	c.fill()
	return connTimeouts(&c)
}

func connTimeouts(cfg *Config) (t ConnTimeouts, ok bool) {
	if cfg.DeadlineResolution < 0 {
		return ConnTimeouts{}, false
	}
	r := cfg.DeadlineResolution
	for _, d := range []time.Duration{cfg.ReadTimeout, cfg.WriteTimeout, cfg.IdleTimeout} {
		if d > 0 {
			r = min(r, d/10)
		}
	}
	return ConnTimeouts{Read: cfg.ReadTimeout, Write: cfg.WriteTimeout, Idle: cfg.IdleTimeout, Resolution: max(r, time.Millisecond)}, true
}

type timeoutListener struct {
	net.Listener
	t ConnTimeouts
	// now is the coarse clock (unix nanoseconds) deadlines are set from,
	// advanced by the reaper every Resolution.
	now atomic.Int64

	mu     sync.Mutex
	conns  map[*timeoutConn]struct{}
	closed bool // the listener was closed: the reaper ends with the last conn

	wake      chan struct{} // the listener closed, or its last conn did
	done      chan struct{} // closed when the reaper returns
	closeOnce sync.Once
}

func (l *timeoutListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &timeoutConn{Conn: c, l: l, phase: phaseIdle}
	l.mu.Lock()
	if l.closed {
		// Accepted as the listener closed: the reaper may be gone, and
		// this connection would have no timeouts.
		l.mu.Unlock()
		_ = c.Close()
		return nil, net.ErrClosed
	}
	l.conns[tc] = struct{}{}
	l.mu.Unlock()
	// The first request gets Read to start, as in fasthttp.
	tc.dl.set(l.deadline(l.t.Read), timeoutRead, tc.Conn.SetDeadline)
	return tc, nil
}

// Close closes the listener; the reaper keeps the timeouts of the
// connections still open until the last one closes.
func (l *timeoutListener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		l.signal()
	})
	return err
}

// Done is closed once the listener and every connection it accepted are
// closed and its reaper has returned.
func (l *timeoutListener) Done() <-chan struct{} { return l.done }

func (l *timeoutListener) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *timeoutListener) remove(c *timeoutConn) {
	l.mu.Lock()
	delete(l.conns, c)
	last := l.closed && len(l.conns) == 0
	l.mu.Unlock()
	if last {
		l.signal()
	}
}

// deadline is when a phase of d that starts now ends, never before now+d
// on the real clock: the coarse clock lags it by up to a Resolution.
func (l *timeoutListener) deadline(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return l.now.Load() + int64(d) + int64(l.t.Resolution)
}

// reap advances the coarse clock and expires passed deadlines every
// Resolution until the listener and all its connections are closed.
func (l *timeoutListener) reap() {
	defer close(l.done)
	t := time.NewTicker(l.t.Resolution)
	defer t.Stop()
	var batch []*timeoutConn
	// A deadline is set from the coarse clock plus one Resolution, which
	// covers the clock's lag only while the reaper keeps time. When it
	// wakes late (a busy CPU, a GC pause), deadlines set meanwhile rest on
	// a clock older than that and would fire early by the lateness: the
	// expiry check is held back by it (slack) until every deadline set in
	// a late interval has passed.
	slack := lateness{window: int64(max(l.t.Read, l.t.Write, l.t.Idle)) + 2*int64(l.t.Resolution)}
	for {
		select {
		case <-t.C:
		case <-l.wake:
		}
		now := time.Now().UnixNano()
		prev := l.now.Swap(now)
		held := slack.observe(now, now-prev-int64(l.t.Resolution))
		l.mu.Lock()
		if l.closed && len(l.conns) == 0 {
			l.mu.Unlock()
			return
		}
		batch = batch[:0]
		for c := range l.conns {
			batch = append(batch, c)
		}
		l.mu.Unlock()
		for i, c := range batch {
			if which, ok := c.dl.expire(now-held, c.Conn.SetDeadline); ok && l.t.OnExpire != nil {
				l.t.OnExpire(timeoutNames[which])
			}
			batch[i] = nil // no connection kept past the tick
		}
	}
}

// lateness is how far the reaper holds expiries back: the largest
// lateness of a tick whose deadlines may still be pending, that is, seen
// within the last window (the longest timeout plus two Resolutions). It
// keeps two values rather than every tick's: the largest (cur, until its
// window ends) and the largest of the smaller ones seen since (next,
// until the last of their windows ends), which takes over when cur's
// window ends. So one long pause is forgotten a window later even while
// every tick keeps being a little late (timer jitter), and the slack
// never falls below a lateness still in its window.
type lateness struct {
	window          int64
	cur, curUntil   int64
	next, nextUntil int64
}

// observe records a tick at now that came late (late > 0) or not, and
// returns the slack to hold expiries back by.
func (s *lateness) observe(now, late int64) int64 {
	if now > s.curUntil {
		s.cur, s.curUntil = s.next, s.nextUntil
		s.next, s.nextUntil = 0, 0
		if now > s.curUntil {
			s.cur = 0
		}
	}
	switch {
	case late <= 0:
	case late >= s.cur:
		s.cur, s.curUntil = late, now+s.window
	default:
		s.next, s.nextUntil = max(s.next, late), now+s.window
	}
	return s.cur
}

// A connection's phase, from its own Read and Write calls.
const (
	phaseIdle    = iota // waiting for a request's first byte
	phaseReading        // a request has started: reading the rest
	phaseWriting        // writing a response
)

// timeoutConn is read and written by the one goroutine serving it
// (fasthttp), so phase needs no lock; the reaper reads only dl.
type timeoutConn struct {
	net.Conn
	l         *timeoutListener
	phase     int
	dl        coarseDeadline
	closeOnce sync.Once
}

func (c *timeoutConn) Read(p []byte) (int, error) {
	if c.phase == phaseWriting {
		// The response is out: fasthttp reads the next request.
		c.phase = phaseIdle
		c.dl.set(c.l.deadline(c.l.t.Idle), timeoutIdle, c.Conn.SetDeadline)
	}
	n, err := c.Conn.Read(p)
	if n > 0 && c.phase == phaseIdle {
		c.phase = phaseReading
		c.dl.set(c.l.deadline(c.l.t.Read), timeoutRead, c.Conn.SetDeadline)
	}
	return n, err
}

func (c *timeoutConn) Write(p []byte) (int, error) {
	if c.phase != phaseWriting {
		c.phase = phaseWriting
		if err := c.dl.set(c.l.deadline(c.l.t.Write), timeoutWrite, c.Conn.SetDeadline); err != nil {
			return 0, err
		}
	}
	return c.Conn.Write(p)
}

// SetDeadline and its two siblings are for a user of the connection other
// than fasthttp (which, serving with no timeouts of its own, sets none):
// a deadline set this way replaces the phase's until the next phase
// (OnExpire reports it as "read").
func (c *timeoutConn) SetDeadline(t time.Time) error {
	return c.dl.set(unixNano(t), timeoutRead, c.Conn.SetDeadline)
}

func (c *timeoutConn) SetReadDeadline(t time.Time) error  { return c.SetDeadline(t) }
func (c *timeoutConn) SetWriteDeadline(t time.Time) error { return c.SetDeadline(t) }

func (c *timeoutConn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() { c.l.remove(c) })
	return err
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return max(t.UnixNano(), 1)
}

// past is a deadline that has passed: set on a connection, it ends a
// blocked Read or Write with os.ErrDeadlineExceeded.
var past = time.Unix(1, 0)

// coarseDeadline is a connection's deadline. set (the connection's
// goroutine) and expire (the reaper) agree without a lock on the common
// path: set stores the deadline, then looks at forced; expire sets
// forced, then looks at the deadline again. Go's atomics are sequentially
// consistent, so at least one of them sees the other's write: either set
// sees forced and lifts the real deadline (under mu, once expire is
// done), or expire sees the new deadline and takes forced back.
type coarseDeadline struct {
	// at is the deadline in unix nanoseconds, rounded up to a multiple of
	// 4, with the timeout it is for (timeoutRead...) in its two low bits,
	// for OnExpire: one store per phase change; 0: none.
	at     atomic.Int64
	forced atomic.Bool // the real connection holds a passed deadline
	mu     sync.Mutex  // orders lifting a forced deadline after forcing it
}

func (d *coarseDeadline) set(at int64, which int32, real func(time.Time) error) error {
	if at != 0 {
		at = (at+3)&^3 | int64(which)
	}
	d.at.Store(at)
	if !d.forced.Load() {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.forced.Load() {
		return nil // expire took it back
	}
	if at != 0 && at <= time.Now().UnixNano() {
		return nil // passed already: the real deadline stays in the past
	}
	d.forced.Store(false)
	return real(time.Time{})
}

// expire forces d's deadline onto the real connection if it has passed
// by now, and reports which timeout it was when it did.
func (d *coarseDeadline) expire(now int64, real func(time.Time) error) (which int32, expired bool) {
	at := d.at.Load()
	if at == 0 || at > now || d.forced.Load() {
		return 0, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.forced.Store(true)
	if d.at.Load() != at {
		// set moved the deadline meanwhile: not expired after all (the
		// next tick looks again).
		d.forced.Store(false)
		return 0, false
	}
	if err := real(past); err != nil {
		if !errors.Is(err, net.ErrClosed) && !errors.Is(err, os.ErrClosed) {
			d.forced.Store(false) // not set after all: the next tick tries again
		}
		return 0, false
	}
	return int32(at & 3), true
}
