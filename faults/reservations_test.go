package faults

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/testutil"
)

// TestReservationsUnderFaults runs concurrent reserve/commit/release
// workflows with idempotency keys and retrying clients through the real
// origin binary on Redis (appendfsync always), while the origin is
// kill -9ed and restarted and Redis is crashed and restarted mid-run. It
// then audits the store through the admin API (oversells, negative stock,
// double holds, reserved == sum of live holds, acknowledged outcomes kept)
// and checks every (sku, warehouse) history for linearizability.
func TestReservationsUnderFaults(t *testing.T) {
	rs := redisEnv.Server(t)
	const warehouses, onHand = 8, 10
	ops := pick(1500, 10000)
	workers := pick(32, 64)
	skuCount := pick(12, 80) // ~9 holds per warehouse: contention, and small histories
	run := fmt.Sprintf("%x", rand.Uint32())

	addr := testutil.FreeAddr(t)
	o := &originProc{t: t, addr: addr, env: commonEnv(), args: []string{
		"origin", "--listen", addr, "--store", "redis", "--redis", rs.Addr,
		"--redis-prefix", "flt" + run, // a fresh keyspace per run on the package's Redis
		"--region", "faults",
	}}
	o.start()
	waitHTTP(t, o.url()+"/_/readyz", 30*time.Second, o.cur)
	api := newAdmin(t, o.url(), 3*time.Second)

	wfs := plan(ops, skuCount, warehouses, 42, run)
	var skus []string
	for i := range skuCount {
		sku := skuName(run, i)
		skus = append(skus, sku)
		for w := range warehouses {
			api.must(t, "PUT", "/v1/stock/"+sku+"/"+whName(w), fmt.Sprintf(`{"on_hand":%d}`, onHand))
		}
	}
	for _, w := range wfs {
		if w.idx >= 64 {
			t.Fatalf("warehouse %v has more than 64 holds; the model cannot number them", w.wh)
		}
	}

	f := newFigures("reservations")
	defer f.report(t)
	tl := &tally{}
	r := &runner{api: api, hist: newHistory(), tally: tl, start: time.Now(), deadline: 45 * time.Second}
	in := &injector{origin: o, redis: rs}

	side := startSideTraffic(t, api, run, 4)
	var done atomic.Int64
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		forEach(workers, wfs, func(c int, w *workflow) {
			w.client = c
			r.reserve(w)
			if w.dup {
				r.replay(w)
			}
			r.follow(w)
			if w.n%3 == 0 {
				r.read(w.wh.sku, warehouses, c)
			}
			done.Add(1)
		})
	}()
	// Faults fire from this goroutine (it may t.Fatal), each when the
	// workload has reached its point.
	for _, s := range faultSchedule() {
		for float64(done.Load()) < s.at*float64(len(wfs)) {
			time.Sleep(5 * time.Millisecond)
		}
		in.fire(s.kind)
	}
	<-ran
	took := time.Since(r.start)
	side.finish(t)
	for _, e := range in.log {
		t.Log(e)
	}
	for _, err := range in.errs {
		t.Error(err)
	}

	// Every key sent once more after all the faults: the idempotency
	// records survived the crashes, and a replay changes nothing (the audit
	// below runs after it). Outcomes impatient clients never learnt are
	// settled the same way.
	forEach(16, wfs, func(_ int, w *workflow) {
		r.replay(w)
		r.resolve(w)
	})

	a := audit(t, api, wfs, skus, warehouses, onHand, tl)
	// Carts, transfers and bulk lines ran beside the workflows through the
	// same faults: every SKU's ledger must replay to its view.
	ledgerChecked := checkLedger(t, api, append(append([]string{}, skus...), side.skus...))
	illegal, unknown, histOps, maxHist := checkLinearizable(t, r.hist, onHand)
	for _, e := range tl.examples {
		t.Log(e)
	}

	f.count("ops", ops)
	f.count("workflows", len(wfs))
	f.count("workers", workers)
	f.count("warehouses", skuCount*warehouses)
	f.zero("oversells", a.oversells+tl.readOversell.Load())
	f.zero("negative", a.negative+tl.readNegative.Load())
	f.zero("double_holds", tl.doubleHolds.Load())
	f.zero("reserved_mismatch", a.reservedMismatch)
	f.zero("on_hand_mismatch", a.onHandMismatch)
	f.zero("lost_acks", a.lostAcks)
	f.zero("unexpected_answers", tl.unexpected.Load())
	f.zero("not_linearizable", int64(illegal))
	f.zero("check_timeouts", int64(unknown))
	f.count("unknown_outcomes", tl.unknown.Load())
	f.count("held", tl.reserved.Load())
	f.count("insufficient", tl.insufficient.Load())
	f.count("commits", tl.commits.Load())
	f.count("releases", tl.releases.Load())
	f.count("reads", tl.reads.Load())
	f.count("history_ops", histOps)
	f.count("max_ops_per_warehouse", maxHist)
	f.count("origin_kills", o.kills)
	f.count("redis_restarts", in.redisRestarts)
	f.count("attempts", tl.attempts.Load())
	f.count("retries", tl.retries.Load())
	f.count("transport_errors", tl.transportErrs.Load())
	f.count("http_5xx", tl.http5xx.Load())
	f.count("http_429", tl.http429.Load())
	f.dur("max_op", time.Duration(tl.maxOp.Load()))
	f.count("side_carts", side.carts.Load())
	f.count("side_carts_refused", side.cartsRefused.Load())
	f.count("side_transfers", side.transfers.Load())
	f.count("side_bulk_jobs", int64(len(side.jobs)))
	f.count("side_bulk_lines", side.jobLines.Load())
	f.count("ledger_skus_verified", ledgerChecked)
	f.dur("run", took)
}
