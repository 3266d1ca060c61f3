package edge

import (
	"math"
	"net"
	"runtime"
	"sync/atomic"
	"time"
)

// Yielding before the next read. A keep-alive client sends its next
// request only after it has read the response, so a read right after the
// write almost never finds it: the read system call returns EAGAIN, the
// goroutine parks in the netpoller and is woken through epoll_wait, all
// per request (a profile under wrk: 0.6 of the 1.6 reads a request were
// EAGAIN). Yielding the processor first lets the other connections'
// requests run; by the time this one reads, its next request has usually
// come, and one read gets it.
//
// Unbounded, that starves the network: Go's scheduler polls it only when
// it has nothing else to run (or from sysmon every 10 ms,
// golang/go#51651), and goroutines that yield after every response keep
// the run queue from ever emptying; connections whose goroutines had
// parked then wait for sysmon (wrk's p99 doubled, docs/bench.md). So a
// connection yields only while the network was polled recently: a read
// that blocked and came back within yieldWindow shows the scheduler
// polled it. When yielding goroutines hold the queue for longer than
// that, nobody yields, the queue drains, the network is polled, and the
// yields resume. Measured in docs/bench.md ("Yield before the next read").

// yieldWindow is how long after a blocked read last came back connections
// keep yielding: the most a parked connection waits behind yielding ones.
const yieldWindow = 500 * time.Microsecond

// blockedRead is how long a read must take to count as having blocked
// (parked and woken by the netpoller) rather than finding data at once.
const blockedRead = 5 * time.Microsecond

// wakeResolution bounds how often lastWake is written: a write per
// blocked read would bounce its cache line between the cores of a
// many-core edge on every request.
const wakeResolution = 50 * time.Microsecond

// YieldListener wraps ln so each accepted connection yields the processor
// before the first read after a write while the network is being polled
// (see above). The edge serves through it when Config.ReadYield.
func YieldListener(ln net.Listener) net.Listener {
	base := time.Now()
	return newYieldListener(ln, func() int64 { return int64(time.Since(base)) })
}

func newYieldListener(ln net.Listener, now func() int64) *yieldListener {
	l := &yieldListener{Listener: ln, now: now}
	l.lastWake.Store(math.MinInt64 / 2) // no yield before a read has blocked
	return l
}

type yieldListener struct {
	net.Listener
	// now is a monotonic clock in nanoseconds (a fake in tests).
	now func() int64
	// lastWake is when (on now) a read last came back after blocking.
	lastWake atomic.Int64
}

func (l *yieldListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &yieldConn{Conn: c, l: l}, nil
}

// yieldConn is read and written by the one goroutine serving it
// (fasthttp), so its own fields need no lock.
type yieldConn struct {
	net.Conn
	l      *yieldListener
	wrote  bool
	yields int // how many times it yielded (tests)
}

func (c *yieldConn) Read(p []byte) (int, error) {
	start := c.l.now()
	if c.wrote {
		c.wrote = false
		if start-c.l.lastWake.Load() < int64(yieldWindow) {
			runtime.Gosched()
			c.yields++
			start = c.l.now()
		}
	}
	n, err := c.Conn.Read(p)
	if end := c.l.now(); end-start > int64(blockedRead) && end-c.l.lastWake.Load() > int64(wakeResolution) {
		c.l.lastWake.Store(end)
	}
	return n, err
}

func (c *yieldConn) Write(p []byte) (int, error) {
	c.wrote = true
	return c.Conn.Write(p)
}
