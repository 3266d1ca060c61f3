package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// workflow is one client's purchase: reserve qty in a warehouse with an
// idempotency key, then commit, release, or leave the hold.
type workflow struct {
	n    int
	key  string // Idempotency-Key
	wh   whKey
	idx  int // hold number within the warehouse, for the model
	qty  int64
	then opKind // opCommit, opRelease, or opReserve for "keep the hold"
	dup  bool   // send the reservation a second time after the answer
	// impatient: the client makes one attempt and walks away if it gets no
	// answer, leaving an outcome nobody knows (modelled as "may have
	// happened, at any time after the call").
	impatient bool
	client    int

	// Filled in by the run.
	res      result // of the reservation
	id       string
	followed result // of the commit or release
	// lateID is the hold of an unknown reservation, resolved after the run
	// by sending its key again (the store answers with what it recorded,
	// or reserves now); empty if that found no stock.
	lateID string
}

// plan makes workflows until they add up to ops operations, spread
// round-robin over the warehouses so each gets about the same number of
// holds (the model numbers at most 64 per warehouse; the test checks).
func plan(ops, skus, warehouses int, seed uint64, run string) []*workflow {
	rng := rand.New(rand.NewPCG(seed, seed^0xfa17))
	var wfs []*workflow
	perWH := map[whKey]int{}
	for total := 0; total < ops; {
		n := len(wfs)
		p := n % (skus * warehouses)
		wk := whKey{sku: skuName(run, p/warehouses), wh: p % warehouses}
		w := &workflow{n: n, key: fmt.Sprintf("%s-k%d", run, n), wh: wk, idx: perWH[wk], qty: 1 + rng.Int64N(3),
			dup: rng.IntN(5) == 0, impatient: rng.IntN(10) == 0}
		perWH[wk]++
		switch r := rng.IntN(20); {
		case r < 9:
			w.then = opCommit
		case r < 16:
			w.then = opRelease
		default:
			w.then = opReserve
		}
		total++
		if w.then != opReserve {
			total++
		}
		wfs = append(wfs, w)
	}
	return wfs
}

func whName(i int) string { return fmt.Sprintf("wh%d", i) }

func skuName(run string, i int) string { return fmt.Sprintf("FLT-%s-%d", run, i) }

// tally counts what the clients saw. Must-be-zero ones are checked by the
// test.
type tally struct {
	attempts, retries, transportErrs, http5xx, http429 atomic.Int64
	unexpected, unknown                                atomic.Int64
	reserved, insufficient, commits, releases, reads   atomic.Int64
	readOversell, readNegative                         atomic.Int64
	doubleHolds                                        atomic.Int64
	maxOp                                              atomic.Int64 // ns, longest resolved operation
	mu                                                 sync.Mutex
	examples                                           []string // first few unexpected answers, for the log
}

func (t *tally) note(format string, args ...any) {
	t.mu.Lock()
	if len(t.examples) < 5 {
		t.examples = append(t.examples, fmt.Sprintf(format, args...))
	}
	t.mu.Unlock()
}

// runner executes workflows against an origin, retrying like a careful
// client: transport errors, 5xx and 429 are retried with the same key
// (the outcome is unknown, the key makes the retry safe) until a definite
// answer or the operation's deadline.
type runner struct {
	api      *admin
	hist     *history
	tally    *tally
	start    time.Time
	deadline time.Duration // per logical operation, from its first call
}

func (r *runner) now() int64 { return int64(time.Since(r.start)) }

// attempt classifies one exchange: done with an answer, or retry.
func (r *runner) attempt(ctx context.Context, method, path, body string, hdr ...string) (answer, bool) {
	r.tally.attempts.Add(1)
	ans, err := r.api.do(ctx, method, path, body, hdr...)
	switch {
	case err != nil:
		r.tally.transportErrs.Add(1)
		return ans, false
	case ans.status == http.StatusTooManyRequests:
		r.tally.http429.Add(1)
		return ans, false
	case ans.status >= 500:
		r.tally.http5xx.Add(1)
		return ans, false
	}
	return ans, true
}

// retry runs attempts until one is definite or patience (from the first
// call; 0 is a single attempt) runs out; ok is false when it gave up.
func (r *runner) retry(patience time.Duration, method, path, body string, hdr ...string) (answer, bool) {
	give := time.Now().Add(patience)
	backoff := 20 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		ans, done := r.attempt(ctx, method, path, body, hdr...)
		cancel()
		if done {
			return ans, true
		}
		if time.Now().After(give) {
			return ans, false
		}
		r.tally.retries.Add(1)
		time.Sleep(backoff + rand.N(backoff))
		backoff = min(2*backoff, 400*time.Millisecond)
	}
}

func (r *runner) reserveBody(w *workflow) string {
	return jsonBody(map[string]any{"sku": w.wh.sku, "qty": w.qty, "warehouse": whName(w.wh.wh), "ttl_seconds": 3600})
}

type reservation struct {
	ID     string `json:"id"`
	SKU    string `json:"sku"`
	WH     string `json:"warehouse"`
	Qty    int64  `json:"qty"`
	Status string `json:"status"`
}

// reserve makes the workflow's reservation and records it in the history.
func (r *runner) reserve(w *workflow) {
	patience := r.deadline
	if w.impatient {
		patience = 0
	}
	call := r.now()
	ans, ok := r.retry(patience, "POST", "/v1/reservations", r.reserveBody(w), "Idempotency-Key", w.key)
	w.res = r.classifyReserve(w, ans, ok)
	ret := r.now()
	if w.res == resUnknown {
		ret = unknownReturn
	} else {
		r.noteLatency(call, ret)
	}
	r.hist.add(w.wh, w.client, whInput{kind: opReserve, idx: w.idx, qty: w.qty}, whOutput{res: w.res}, call, ret)
}

func (r *runner) classifyReserve(w *workflow, ans answer, ok bool) result {
	if !ok {
		r.tally.unknown.Add(1)
		return resUnknown
	}
	switch {
	case ans.status == http.StatusCreated:
		var res reservation
		if err := ans.json(&res); err != nil || res.ID == "" || res.Qty != w.qty || res.WH != whName(w.wh.wh) {
			r.tally.unexpected.Add(1)
			r.tally.note("reserve %s: 201 with %s", w.key, ans.body)
			return resUnknown
		}
		w.id = res.ID
		r.tally.reserved.Add(1)
		return resOK
	case ans.status == http.StatusConflict && ans.errorCode() == "insufficient_stock":
		r.tally.insufficient.Add(1)
		return resInsufficient
	}
	r.tally.unexpected.Add(1)
	r.tally.note("reserve %s: %d %s", w.key, ans.status, ans.body)
	return resUnknown
}

// replay sends the reservation again with its key, as a client that lost
// the answer would: it must get the first answer back and change nothing.
// A different reservation, or a fresh one, is a double hold.
func (r *runner) replay(w *workflow) {
	if w.res == resUnknown {
		return // see resolve
	}
	ans, ok := r.retry(r.deadline, "POST", "/v1/reservations", r.reserveBody(w), "Idempotency-Key", w.key)
	if !ok {
		return
	}
	switch w.res {
	case resOK:
		var res reservation
		_ = ans.json(&res)
		if ans.status != http.StatusCreated || res.ID != w.id || ans.header.Get("Idempotent-Replayed") != "true" {
			r.tally.doubleHolds.Add(1)
			r.tally.note("replay of %s (held %s): %d %s replayed=%q", w.key, w.id, ans.status, ans.body, ans.header.Get("Idempotent-Replayed"))
		}
	case resInsufficient:
		if ans.status != http.StatusConflict || ans.errorCode() != "insufficient_stock" {
			r.tally.doubleHolds.Add(1)
			r.tally.note("replay of %s (insufficient): %d %s", w.key, ans.status, ans.body)
		}
	}
}

// resolve settles a reservation whose outcome the client never learnt,
// once the run is over, by sending its key again: the store answers with
// the recorded outcome, or (if the first attempt never got there) reserves
// now. Either way the audit then knows every hold. The history is complete
// by then, and an unknown operation may take effect at any time after its
// call, so this cannot hide a violation.
func (r *runner) resolve(w *workflow) {
	if w.res != resUnknown || w.id != "" {
		return
	}
	ans, ok := r.retry(r.deadline, "POST", "/v1/reservations", r.reserveBody(w), "Idempotency-Key", w.key)
	var res reservation
	switch {
	case ok && ans.status == http.StatusCreated && ans.json(&res) == nil && res.ID != "":
		w.lateID = res.ID
	case ok && ans.status == http.StatusConflict && ans.errorCode() == "insufficient_stock":
	default:
		r.tally.unexpected.Add(1)
		r.tally.note("resolving %s: %d %s", w.key, ans.status, ans.body)
	}
}

// follow commits or releases a hold; both are idempotent by id, so a retry
// of one whose answer was lost is safe.
func (r *runner) follow(w *workflow) {
	if w.res != resOK || w.then == opReserve {
		return
	}
	verb := "commit"
	want := "committed"
	if w.then == opRelease {
		verb, want = "release", "released"
	}
	call := r.now()
	ans, ok := r.retry(r.deadline, "POST", "/v1/reservations/"+w.id+"/"+verb, "")
	ret := r.now()
	var res reservation
	switch {
	case !ok:
		r.tally.unknown.Add(1)
		w.followed, ret = resUnknown, unknownReturn
	case ans.status == http.StatusOK && ans.json(&res) == nil && res.Status == want:
		w.followed = resOK
		if w.then == opCommit {
			r.tally.commits.Add(1)
		} else {
			r.tally.releases.Add(1)
		}
		r.noteLatency(call, ret)
	default:
		r.tally.unexpected.Add(1)
		r.tally.note("%s %s: %d %s", verb, w.id, ans.status, ans.body)
		w.followed, ret = resUnknown, unknownReturn
	}
	r.hist.add(w.wh, w.client, whInput{kind: w.then, idx: w.idx, qty: w.qty}, whOutput{res: w.followed}, call, ret)
}

type stockView struct {
	SKU        string `json:"sku"`
	Available  int64  `json:"available"`
	Version    uint64 `json:"version"`
	Warehouses map[string]struct {
		OnHand    int64 `json:"on_hand"`
		Reserved  int64 `json:"reserved"`
		Available int64 `json:"available"`
	} `json:"warehouses"`
}

// read records one stock view as a read of each of the SKU's warehouses.
// A read that fails is left out: it changed nothing.
func (r *runner) read(sku string, warehouses, client int) {
	call := r.now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	ans, done := r.attempt(ctx, "GET", "/v1/stock/"+sku, "")
	ret := r.now()
	var v stockView
	if !done || ans.status != http.StatusOK || ans.json(&v) != nil {
		return
	}
	r.tally.reads.Add(1)
	for i := range warehouses {
		w, ok := v.Warehouses[whName(i)]
		if !ok {
			r.tally.unexpected.Add(1)
			r.tally.note("read %s: no warehouse %s in %s", sku, whName(i), ans.body)
			continue
		}
		if w.OnHand < 0 || w.Reserved < 0 || w.Available < 0 {
			r.tally.readNegative.Add(1)
		}
		if w.Reserved > w.OnHand {
			r.tally.readOversell.Add(1)
		}
		r.hist.add(whKey{sku, i}, client, whInput{kind: opRead}, whOutput{onHand: w.OnHand, reserved: w.Reserved}, call, ret)
	}
}

func (r *runner) noteLatency(call, ret int64) {
	d := ret - call
	for {
		cur := r.tally.maxOp.Load()
		if d <= cur || r.tally.maxOp.CompareAndSwap(cur, d) {
			return
		}
	}
}
