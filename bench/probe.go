package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// prober measures the write -> every-edge invalidation delay: after an
// acknowledged write it polls every edge for the key until each serves at
// least the written version. Probes are bounded twice: at most cap(slots)
// run at once (a write that finds none free is not probed, and counted),
// and none polls past the staleness bound: an edge still older then is a
// stale read.
type prober struct {
	ctx   context.Context
	keys  *keySet
	hosts []*host // every edge, on connections of the prober's own
	bound time.Duration
	every time.Duration // pause between polling rounds
	slots chan struct{}
	wg    sync.WaitGroup

	skipped atomic.Int64
	// gap is the least time between two probed writes (0: none);
	// nextAt the earliest next one (unix ns).
	gap       time.Duration
	nextAt    atomic.Int64
	unsampled atomic.Int64
	requests  atomic.Int64
	sawOld    atomic.Int64

	mu          sync.Mutex
	delays      []time.Duration // per probed write: until the last edge was fresh
	staleEdges  int64           // edges still older at the bound
	unconverged int64           // writes some edge had not caught up with by the bound
}

// probeEvery is the pause between polling rounds: the delays measured are
// that coarse, and it keeps the probes' own load on the edges small.
const probeEvery = 5 * time.Millisecond

var (
	headerCacheControl = []byte("Cache-Control")
	onlyIfCached       = []byte("only-if-cached")
)

func newProber(ctx context.Context, keys *keySet, edges []string, slots int, bound time.Duration) (*prober, error) {
	hosts, err := newHosts(edges, max(1, slots))
	if err != nil {
		return nil, err
	}
	return &prober{ctx: ctx, keys: keys, hosts: hosts, bound: bound, every: probeEvery, slots: make(chan struct{}, max(1, slots))}, nil
}

// submit probes the write of key i acknowledged at ackedAt with version v,
// if a slot is free. It never blocks.
func (p *prober) submit(kind keyKind, i int, v uint64, ackedAt time.Time) {
	if p == nil {
		return
	}
	if p.gap > 0 {
		now := ackedAt.UnixNano()
		for {
			next := p.nextAt.Load()
			if now < next {
				p.unsampled.Add(1)
				return
			}
			if p.nextAt.CompareAndSwap(next, now+int64(p.gap)) {
				break
			}
		}
	}
	select {
	case p.slots <- struct{}{}:
	default:
		p.skipped.Add(1)
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer func() { <-p.slots }()
		p.probe(kind, i, v, ackedAt)
	}()
}

// wait returns once every probe has finished: at most the bound after the
// last submit. Call it after the last submit.
func (p *prober) wait() { p.wg.Wait() }

func (p *prober) probe(kind keyKind, i int, v uint64, ackedAt time.Time) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	// GET, although a HEAD would not count a click: fasthttp answers a
	// HEAD without a Content-Length with "Connection: close", and a new
	// connection for every poll would load the edges more than the clicks.
	path := p.keys.path(kind, i)
	fresh := make([]bool, len(p.hosts))
	left := len(p.hosts)
	bound := ackedAt.Add(p.bound)
	var last time.Time
	sawOld := false
	defer func() {
		if sawOld {
			p.sawOld.Add(1)
		}
	}()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		for j, h := range p.hosts {
			if fresh[j] {
				continue
			}
			req.SetRequestURI(path)
			req.Header.SetBytesKV(headerCacheControl, onlyIfCached)
			err := h.do(req, resp, earlier(bound, time.Now().Add(time.Second)))
			p.requests.Add(1)
			if err == nil && resp.StatusCode() == fasthttp.StatusGatewayTimeout {
				// only-if-cached and the edge holds no copy: its next
				// answer is filled from the origin at or past the
				// invalidation's version floor, so it is fresh. Asking this
				// way keeps the probes from filling every edge with every
				// written key (an origin call per edge per probed write).
				fresh[j], last = true, time.Now()
				left--
				continue
			}
			if err != nil || resp.StatusCode() >= 400 {
				continue
			}
			got, err := fasthttp.ParseUint(resp.Header.Peek("X-Version"))
			switch {
			case err != nil:
			case uint64(got) >= v:
				fresh[j], last = true, time.Now()
				left--
			default:
				sawOld = true
			}
		}
		if left == 0 {
			p.mu.Lock()
			p.delays = append(p.delays, last.Sub(ackedAt))
			p.mu.Unlock()
			return
		}
		if !time.Now().Before(bound) {
			p.mu.Lock()
			p.staleEdges += int64(left)
			p.unconverged++
			p.mu.Unlock()
			return
		}
		t.Reset(min(p.every, time.Until(bound)))
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Invalidation is the write -> every-edge delay distribution.
type Invalidation struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// ProbeStats is what the prober saw.
type ProbeStats struct {
	Delays      []time.Duration `json:"-"`
	Probed      int             `json:"probed"`      // writes followed to every edge
	Unconverged int64           `json:"unconverged"` // writes not on every edge by the bound
	StaleEdges  int64           `json:"stale_edges"` // edge answers still older at the bound
	Skipped     int64           `json:"skipped"`     // writes not probed: every slot was busy
	Unsampled   int64           `json:"unsampled"`   // writes not probed: over Config.ProbeRate
	Requests    int64           `json:"requests"`    // probe requests sent to edges
	// SawOld counts probed writes where some edge first served an older
	// version: the invalidation had a cached copy to reach. In the others
	// every edge either had the key cold or was already fresh when polled.
	SawOld int64 `json:"saw_old"`
}

func (p *prober) stats() ProbeStats {
	if p == nil {
		return ProbeStats{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return ProbeStats{
		Delays: append([]time.Duration(nil), p.delays...), Probed: len(p.delays),
		Unconverged: p.unconverged, StaleEdges: p.staleEdges,
		Skipped: p.skipped.Load(), Unsampled: p.unsampled.Load(), Requests: p.requests.Load(), SawOld: p.sawOld.Load(),
	}
}
