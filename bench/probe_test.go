package bench

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// probeEdge is an edge as the prober sees it: it holds version held of
// the key until dropAt, then holds nothing (an invalidation dropped it);
// asked with only-if-cached it answers 504 when it holds nothing, and
// otherwise it fills from an origin at version fresh (counted in fills).
type probeEdge struct {
	held, fresh uint64
	dropAt      time.Time
	fills       atomic.Int64
}

func (e *probeEdge) handle(ctx *fasthttp.RequestCtx) {
	if e.held != 0 && time.Now().Before(e.dropAt) {
		ctx.Response.Header.SetBytesV("X-Version", fasthttp.AppendUint(nil, int(e.held)))
		ctx.SetStatusCode(fasthttp.StatusFound)
		return
	}
	if bytes.Contains(ctx.Request.Header.Peek("Cache-Control"), []byte("only-if-cached")) {
		ctx.SetStatusCode(fasthttp.StatusGatewayTimeout)
		return
	}
	e.fills.Add(1)
	ctx.Response.Header.SetBytesV("X-Version", fasthttp.AppendUint(nil, int(e.fresh)))
	ctx.SetStatusCode(fasthttp.StatusFound)
}

// The prober asks with only-if-cached: an edge that holds no copy counts
// as fresh without being made to fill one, and the delay is set by the
// edge whose old copy was dropped last.
func TestProberDoesNotFillEdgesAndWaitsForOldCopies(t *testing.T) {
	acked := time.Now()
	cold := &probeEdge{fresh: 7}
	holding := &probeEdge{held: 6, fresh: 7, dropAt: acked.Add(60 * time.Millisecond)}
	edges := []string{serve(t, cold.handle), serve(t, holding.handle)}
	ks := newKeySet("t", 10, 10)
	p, err := newProber(context.Background(), ks, edges, 1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer closeHosts(p.hosts)
	p.submit(linkKey, 3, 7, acked)
	p.wait()
	st := p.stats()
	if st.Probed != 1 || st.Unconverged != 0 || st.SawOld != 1 {
		t.Fatalf("stats %+v: want one write probed, converged, an old copy seen", st)
	}
	if d := st.Delays[0]; d < 60*time.Millisecond {
		t.Fatalf("delay %v: the old copy was served until 60 ms after the ack", d)
	}
	if n := cold.fills.Load() + holding.fills.Load(); n != 0 {
		t.Fatalf("the probes made edges fill %d times, want 0", n)
	}
}

// The probe rate caps the probed writes: of writes acknowledged 10 ms
// apart with a 50 ms gap, only every fifth is probed, the others are
// counted as over the rate, and every probe request follows a probed
// write (one per edge).
func TestProbeRateSamplesWrites(t *testing.T) {
	e := &probeEdge{fresh: 7}
	edges := []string{serve(t, e.handle), serve(t, e.handle)}
	p, err := newProber(context.Background(), newKeySet("t", 10, 10), edges, 100, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer closeHosts(p.hosts)
	p.gap = 50 * time.Millisecond
	start := time.Now()
	for i := range 20 {
		p.submit(linkKey, i%10, 7, start.Add(time.Duration(i)*10*time.Millisecond))
	}
	p.wait()
	st := p.stats()
	if st.Probed != 4 || st.Unsampled != 16 || st.Skipped != 0 {
		t.Fatalf("stats %+v: want 4 writes probed (one per 50 ms of 200 ms), 16 over the rate", st)
	}
	if st.Requests != 4*int64(len(edges)) {
		t.Fatalf("%d probe requests for 4 probed writes on %d edges", st.Requests, len(edges))
	}
}
