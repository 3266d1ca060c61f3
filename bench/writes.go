package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

// The write mix: shares of link PATCHes and stock adjusts; the rest are
// reservations. Of reservations, commitShare are committed, releaseShare
// released and the rest left held (so the audit has holds to count).
const (
	patchShare   = 0.4
	adjustShare  = 0.3
	commitShare  = 0.45
	releaseShare = 0.45
	holdTTL      = 600 // seconds: longer than any run, so no hold expires mid-audit
)

// writeMix is what the write load does to origins.
type writeMix struct {
	keys     *keySet
	zipfS    float64
	adminKey string
	fresh    *freshness
	prober   *prober
	ledger   *ledger
	idem     atomic.Uint64 // numbers Idempotency-Keys
}

// writeOp is one worker's write loop state.
type writeOp struct {
	mix         *writeMix
	hosts       []*host
	rng         *rand.Rand
	links, skus *rand.Zipf
	call        *adminCall
	body        []byte
}

func newWriteOps(mix *writeMix, hosts []*host, workers int, seed uint64) []Op {
	ops := make([]Op, workers)
	for i := range ops {
		rng := rand.New(rand.NewPCG(seed^0x5752495445, uint64(i)+1))
		ops[i] = &writeOp{mix: mix, hosts: hosts, rng: rng,
			links: newZipf(rng, mix.zipfS, len(mix.keys.codes)),
			skus:  newZipf(rng, mix.zipfS, len(mix.keys.skus)),
			call:  newAdminCall(mix.adminKey),
		}
	}
	return ops
}

// Do makes one write at a random origin.
func (o *writeOp) Do(_ context.Context, deadline time.Time) Outcome {
	h := o.hosts[o.rng.IntN(len(o.hosts))]
	switch r := o.rng.Float64(); {
	case r < patchShare:
		return o.patch(h, deadline)
	case r < patchShare+adjustShare:
		return o.adjust(h, deadline)
	default:
		return o.reserve(h, deadline)
	}
}

// versioned is the part of a link or stock view the probe needs.
type versioned struct {
	Version uint64 `json:"version"`
}

func (o *writeOp) patch(h *host, deadline time.Time) Outcome {
	i := int(o.links.Uint64())
	code := o.mix.keys.codes[i]
	o.body = fmt.Appendf(o.body[:0], `{"url":"https://example.com/bench/%s?w=%d"}`, code, o.rng.Uint32())
	st, err := o.call.do(h, http.MethodPatch, "/v1/links/"+code, o.body, "", deadline)
	if err != nil {
		return Outcome{Err: transportKind("patch", err)}
	}
	if st != http.StatusOK {
		return Outcome{Err: statusKind("patch", st)}
	}
	return o.acked(linkKey, i, "patch")
}

func (o *writeOp) adjust(h *host, deadline time.Time) Outcome {
	i := int(o.skus.Uint64())
	sku, whs := o.mix.keys.skus[i], skuWarehouses(i)
	wh := whs[o.rng.IntN(len(whs))]
	// Mostly restocking, sometimes taking away: hot SKUs run out under
	// reservations and come back, so refusals and races both happen.
	delta := int64(o.rng.IntN(10) - 3)
	if delta == 0 {
		delta = 1
	}
	o.mix.ledger.touch(sku)
	o.body = fmt.Appendf(o.body[:0], `{"delta":%d}`, delta)
	st, err := o.call.do(h, http.MethodPost, "/v1/stock/"+sku+"/"+wh+"/adjust", o.body, "", deadline)
	if err != nil {
		o.mix.ledger.adjusted(sku, wh, delta, false)
		return Outcome{Err: transportKind("adjust", err)}
	}
	switch st {
	case http.StatusOK:
		o.mix.ledger.adjusted(sku, wh, delta, true)
		return o.acked(skuKey, i, "adjust")
	case http.StatusConflict:
		return Outcome{Rejected: true}
	}
	return Outcome{Err: statusKind("adjust", st)} // a failed request changes nothing
}

// acked hands an acknowledged write's version to the freshness table and
// the prober.
func (o *writeOp) acked(kind keyKind, i int, op string) Outcome {
	at := time.Now()
	var v versioned
	if err := o.call.decode(&v); err != nil || v.Version == 0 {
		return Outcome{Err: op + "_bad_answer"}
	}
	o.mix.fresh.ack(kind, i, v.Version, at)
	o.mix.prober.submit(kind, i, v.Version, at)
	return Outcome{}
}

func (o *writeOp) reserve(h *host, deadline time.Time) Outcome {
	i := int(o.skus.Uint64())
	sku := o.mix.keys.skus[i]
	qty := int64(1 + o.rng.IntN(3))
	r := &reservation{sku: sku, qty: qty,
		idemKey: "bench-" + o.mix.keys.run + "-" + strconv.FormatUint(o.mix.idem.Add(1), 10),
		body:    fmt.Appendf(nil, `{"sku":%q,"qty":%d,"ttl_seconds":%d}`, sku, qty, holdTTL),
	}
	o.mix.ledger.touch(sku)
	o.mix.ledger.add(r)
	st, err := o.call.do(h, http.MethodPost, "/v1/reservations", r.body, r.idemKey, deadline)
	if err != nil {
		return Outcome{Err: transportKind("reserve", err)} // replayed by the audit
	}
	switch st {
	case http.StatusCreated:
	case http.StatusConflict:
		o.mix.ledger.settle(r, func(r *reservation) { r.status = statusRefused })
		return Outcome{Rejected: true}
	default:
		o.mix.ledger.settle(r, func(r *reservation) { r.status = statusRefused }) // a failed request changes nothing
		return Outcome{Err: statusKind("reserve", st)}
	}
	var got store.Reservation
	if err := o.call.decode(&got); err != nil || got.ID == "" {
		return Outcome{Err: "reserve_bad_answer"}
	}
	o.mix.ledger.settle(r, func(r *reservation) { r.id, r.warehouse, r.status = got.ID, got.Warehouse, got.Status })
	action, final := "", ""
	switch p := o.rng.Float64(); {
	case p < commitShare:
		action, final = "commit", store.StatusCommitted
	case p < commitShare+releaseShare:
		action, final = "release", store.StatusReleased
	default:
		return Outcome{} // left held
	}
	st, err = o.call.do(h, http.MethodPost, "/v1/reservations/"+got.ID+"/"+action, nil, "", deadline)
	switch {
	case err != nil:
		o.mix.ledger.settle(r, func(r *reservation) { r.status = "" }) // asked again by the audit
		return Outcome{Err: transportKind(action, err)}
	case st != http.StatusOK:
		o.mix.ledger.settle(r, func(r *reservation) { r.status = "" }) // held or expired: the audit asks
		return Outcome{Err: statusKind(action, st)}
	}
	o.mix.ledger.settle(r, func(r *reservation) { r.status = final })
	return Outcome{}
}
