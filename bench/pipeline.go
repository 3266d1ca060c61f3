package bench

import (
	"bufio"
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// pipeClient sends requests to one host pipelined (HTTP/1.1: several
// requests written before their answers come back) over a fixed set of
// connections. Requests that are due together leave in one write and
// their answers arrive in one read, so the kernel's per-write cost on the
// loopback, most of what a request costs the generator, is shared: the
// large profile's way to offer 100 K requests/s from one core.
//
// fasthttp's own PipelineClient does the same but cannot be closed, and
// once its server has gone it redials in a loop without pause until the
// process exits (which the compare mode's bare server, stopped mid-run,
// would meet); this one is owned: Close stops and awaits its goroutines.
type pipeClient struct {
	conns []*pipeConn
	next  atomic.Uint32
}

// pipeDial dials a pipelined connection (a test wraps it).
type pipeDial func(addr string, timeout time.Duration) (net.Conn, error)

func dialTCP(addr string, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout("tcp", addr, timeout)
}

// pipeDeadlineStep is how coarse the read and write deadlines are: a
// connection moves its deadline at most once per step instead of once per
// request, and a request times out at most this late.
const pipeDeadlineStep = 10 * time.Millisecond

// pipelineBatch is the step pipelined reads are released in (see
// Schedule.Batch): at 100 K/s, about 100 requests a step, which over 8
// connections makes writes of about a dozen.
const pipelineBatch = time.Millisecond

// pipeFlushEvery is the most requests one write carries.
const pipeFlushEvery = 64

// pipeQueue bounds the requests queued on one connection: beyond it a
// request fails at once (errPipeFull) rather than wait.
const pipeQueue = 4096

var (
	errPipeClosed = errors.New("pipelined client closed")
	errPipeFull   = errors.New("pipelined connection queue full")
	errPipeBroken = errors.New("pipelined connection broke before the answer")
	// errPipeServerClosed: the server answered "Connection: close".
	errPipeServerClosed = errors.New("pipelined connection closed by the server")
)

func newPipeClient(addr string, conns int) *pipeClient {
	return newPipeClientDial(addr, conns, dialTCP)
}

func newPipeClientDial(addr string, conns int, dial pipeDial) *pipeClient {
	p := &pipeClient{conns: make([]*pipeConn, max(1, conns))}
	for i := range p.conns {
		p.conns[i] = &pipeConn{addr: addr, dial: dial}
	}
	return p
}

// do sends req on the next connection in turn and waits for its answer in
// resp. It returns by deadline (at most pipeDeadlineStep later) with
// os.ErrDeadlineExceeded when the answer has not come.
func (p *pipeClient) do(req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time) error {
	c := p.conns[int(p.next.Add(1))%len(p.conns)]
	return c.do(req, resp, deadline)
}

// close breaks every connection and waits for their goroutines.
func (p *pipeClient) close() {
	for _, c := range p.conns {
		c.close()
	}
}

// pipeConn is one connection slot: the link it holds now (dialed on first
// use, and again after it broke).
type pipeConn struct {
	addr   string
	dial   pipeDial
	mu     sync.Mutex
	link   *pipeLink
	closed bool
	wg     sync.WaitGroup
}

// pipeCall is one request in flight. The caller owns req and resp again
// once done has been signalled, which happens exactly once.
type pipeCall struct {
	req      *fasthttp.Request
	resp     *fasthttp.Response
	deadline time.Time
	err      error
	done     chan struct{}
}

var pipeCalls = sync.Pool{New: func() any { return &pipeCall{done: make(chan struct{}, 1)} }}

func (c *pipeConn) do(req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time) error {
	if !time.Now().Before(deadline) {
		return fasthttp.ErrTimeout
	}
	l, err := c.current(deadline)
	if err != nil {
		return err
	}
	call := pipeCalls.Get().(*pipeCall)
	call.req, call.resp, call.deadline, call.err = req, resp, deadline, nil
	if err := l.enqueue(call); err != nil {
		pipeCalls.Put(call)
		return err
	}
	<-call.done
	err = call.err
	call.req, call.resp = nil, nil
	pipeCalls.Put(call)
	return err
}

// current returns the live link, dialing one when there is none.
func (c *pipeConn) current(deadline time.Time) (*pipeLink, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errPipeClosed
	}
	if c.link != nil && !c.link.isBroken() {
		return c.link, nil
	}
	nc, err := c.dial(c.addr, time.Until(deadline))
	if err != nil {
		return nil, err
	}
	l := &pipeLink{nc: nc, calls: make(chan *pipeCall, pipeQueue), inflight: make(chan *pipeCall, pipeQueue), dead: make(chan struct{})}
	c.link = l
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		l.run()
	}()
	return l, nil
}

func (c *pipeConn) close() {
	c.mu.Lock()
	c.closed = true
	l := c.link
	c.mu.Unlock()
	if l != nil {
		l.breakWith(errPipeClosed)
	}
	c.wg.Wait()
}

// pipeLink is one TCP connection: a writer that sends queued requests,
// flushing when the queue runs dry, and a reader that reads the answers in
// the same order. When either fails the link is broken: no request enters
// any more, and every request queued or in flight is failed.
type pipeLink struct {
	nc       net.Conn
	calls    chan *pipeCall // queued, to the writer
	inflight chan *pipeCall // written, to the reader, in order
	dead     chan struct{}  // closed when broken

	mu     sync.Mutex // orders enqueue against breakWith
	broken bool
	err    error
}

func (l *pipeLink) isBroken() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.broken
}

func (l *pipeLink) enqueue(call *pipeCall) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.broken {
		return l.err
	}
	select {
	case l.calls <- call:
		return nil
	default:
		return errPipeFull
	}
}

// breakWith marks the link broken (the first error wins) and closes the
// connection, which ends a read or write in progress.
func (l *pipeLink) breakWith(err error) {
	l.mu.Lock()
	if l.broken {
		l.mu.Unlock()
		return
	}
	l.broken, l.err = true, err
	close(l.dead)
	l.mu.Unlock()
	l.nc.Close()
}

// run runs the writer and the reader until the link breaks, then fails
// every request still queued or in flight with the error that broke it (a
// timeout fails them all as timeouts: they were stuck behind it). No
// request can be queued once the link is broken (enqueue checks under
// mu), so the drain is complete.
func (l *pipeLink) run() {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		l.breakWith(l.write())
	}()
	go func() {
		defer wg.Done()
		l.breakWith(l.read())
	}()
	wg.Wait()
	l.mu.Lock()
	err := l.err
	l.mu.Unlock()
	for _, ch := range []chan *pipeCall{l.inflight, l.calls} {
		for len(ch) > 0 {
			finish(<-ch, err)
		}
	}
}

func finish(call *pipeCall, err error) {
	call.err = err
	call.done <- struct{}{}
}

func (l *pipeLink) write() error {
	bw := bufio.NewWriterSize(l.nc, 16<<10)
	var set time.Time
	unflushed := 0
	for {
		var call *pipeCall
		select {
		case call = <-l.calls:
		case <-l.dead:
			return errPipeBroken
		}
		if !time.Now().Before(call.deadline) {
			finish(call, fasthttp.ErrTimeout) // never sent
			continue
		}
		if d := coarse(call.deadline); d.After(set) {
			if err := l.nc.SetWriteDeadline(d); err != nil {
				l.breakWith(err)
				finish(call, err)
				return err
			}
			set = d
		}
		if err := call.req.Write(bw); err != nil {
			l.breakWith(err)
			finish(call, err)
			return err
		}
		select {
		case l.inflight <- call: // room: no more are in flight than workers (at most pipeQueue)
		case <-l.dead:
			finish(call, errPipeBroken)
			return errPipeBroken
		}
		unflushed++
		if len(l.calls) == 0 {
			// Let the workers that are due now queue theirs first: they
			// then share this write.
			runtime.Gosched()
		}
		// Flush when the queue is dry, and in any case every
		// pipeFlushEvery requests: under a steady stream the queue may
		// never run dry, and requests must not wait for the buffer to fill.
		if len(l.calls) == 0 || unflushed >= pipeFlushEvery {
			if err := bw.Flush(); err != nil {
				return err
			}
			unflushed = 0
		}
	}
}

func (l *pipeLink) read() error {
	br := bufio.NewReaderSize(l.nc, 16<<10)
	var set time.Time
	for {
		var call *pipeCall
		select {
		case call = <-l.inflight:
		case <-l.dead:
			return errPipeBroken
		}
		// The deadline only moves forward: an earlier request's later
		// deadline stands (at most the request timeout apart).
		if d := coarse(call.deadline); d.After(set) {
			if err := l.nc.SetReadDeadline(d); err != nil {
				l.breakWith(err)
				finish(call, err)
				return err
			}
			set = d
		}
		if err := call.resp.Read(br); err != nil {
			// Broken before the caller hears back (as below), or its next
			// request could be queued on this dying link and fail with
			// this request's error.
			l.breakWith(err)
			finish(call, err)
			return err
		}
		if call.resp.ConnectionClose() {
			// Broken before the caller hears back, so that its next
			// request dials anew; what was sent after this one is lost.
			l.breakWith(errPipeServerClosed)
			finish(call, nil)
			return errPipeServerClosed
		}
		finish(call, nil)
	}
}

// coarse rounds t up to the next pipeDeadlineStep.
func coarse(t time.Time) time.Time {
	return t.Add(pipeDeadlineStep - 1).Truncate(pipeDeadlineStep)
}
