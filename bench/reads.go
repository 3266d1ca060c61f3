package bench

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/valyala/fasthttp"
)

// readMix is what the read load asks edges for.
type readMix struct {
	keys       *keySet
	zipfS      float64
	stockShare float64 // share of reads that are stock reads; the rest are redirects
	fresh      *freshness
	bound      time.Duration // staleness bound
	// redirectsOnly makes every read a redirect and accepts any redirect
	// status without cache headers: compare mode against the bare server.
	redirectsOnly bool
}

// readOp is one worker's read loop state.
type readOp struct {
	mix        *readMix
	hosts      []*host
	rng        *rand.Rand
	links, sku *rand.Zipf
	req        fasthttp.Request
	resp       fasthttp.Response
}

func newReadOps(mix *readMix, hosts []*host, workers int, seed uint64) []Op {
	ops := make([]Op, workers)
	for i := range ops {
		rng := rand.New(rand.NewPCG(seed, uint64(i)+1))
		o := &readOp{mix: mix, hosts: hosts, rng: rng,
			links: newZipf(rng, mix.zipfS, len(mix.keys.codes)),
			sku:   newZipf(rng, mix.zipfS, len(mix.keys.skus)),
		}
		o.req.Header.SetMethod(fasthttp.MethodGet)
		ops[i] = o
	}
	return ops
}

// Do reads one key from a random edge. A redirect must be a 3xx with a
// Location, a stock read a 200; both carry X-Cache and X-Version.
func (o *readOp) Do(_ context.Context, deadline time.Time) Outcome {
	kind, idx := linkKey, 0
	if !o.mix.redirectsOnly && o.rng.Float64() < o.mix.stockShare {
		kind, idx = skuKey, int(o.sku.Uint64())
	} else {
		idx = int(o.links.Uint64())
	}
	h := o.hosts[o.rng.IntN(len(o.hosts))]
	o.req.SetRequestURI(o.mix.keys.path(kind, idx))
	sent := time.Now()
	if err := h.do(&o.req, &o.resp, deadline); err != nil {
		return Outcome{Err: transportKind("read", err)}
	}
	st := o.resp.StatusCode()
	switch {
	case kind == linkKey && (st < 300 || st > 308 || len(o.resp.Header.Peek("Location")) == 0),
		kind == skuKey && st != fasthttp.StatusOK:
		return Outcome{Err: statusKind("read", st), Cache: cacheState(o.resp.Header.Peek("X-Cache"))}
	}
	if o.mix.redirectsOnly {
		return Outcome{Cache: cacheState(o.resp.Header.Peek("X-Cache"))}
	}
	out := Outcome{Cache: cacheState(o.resp.Header.Peek("X-Cache"))}
	v, err := fasthttp.ParseUint(o.resp.Header.Peek("X-Version"))
	if err != nil {
		out.Err = "read_bad_version"
		return out
	}
	out.Stale = o.mix.fresh.stale(kind, idx, uint64(v), sent, o.mix.bound)
	return out
}
