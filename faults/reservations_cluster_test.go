package faults

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/redistest"
	"github.com/shortstock/shortstock/internal/testutil"
)

// TestClusterMasterKillNoOversell runs the reservation workload of
// TestReservationsUnderFaults through the real origin on a Redis Cluster
// (3 masters, a replica each, appendfsync always) and kills one master
// with SIGKILL mid-run: its replica takes over, and the killed node comes
// back later as the new master's replica. Required: 0 oversells, 0 lost
// acknowledged reservations, every history linearizable. What makes it
// hold is that the origin answers a reservation only once a replica holds
// it (--redis-wait, auto = 1 here): without it, holds acknowledged in the
// last milliseconds before the kill are lost with the master (lost_acks).
func TestClusterMasterKillNoOversell(t *testing.T) {
	if _, err := redistest.FindBinaries(); err != nil {
		if redistest.InCI() {
			t.Fatalf("redis: %v", err)
		}
		t.Skipf("redis unavailable: %v", err)
	}
	c, err := redistest.StartCluster(redistest.ClusterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })

	const warehouses, onHand = 8, 10
	ops := pick(800, 4000)
	workers := pick(32, 64)
	skuCount := pick(8, 40)
	run := fmt.Sprintf("%x", rand.Uint32())
	addr := testutil.FreeAddr(t)
	o := &originProc{t: t, addr: addr, env: commonEnv(), args: []string{
		"origin", "--listen", addr, "--store", "redis", "--redis", strings.Join(c.Addrs, ","),
		"--redis-prefix", "cfo" + run, "--region", "faults",
	}}
	o.start()
	waitHTTP(t, o.url()+"/_/readyz", 30*time.Second, o.cur)
	api := newAdmin(t, o.url(), 3*time.Second)

	wfs := plan(ops, skuCount, warehouses, 43, run)
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

	f := newFigures("cluster_master_kill")
	defer f.report(t)
	tl := &tally{}
	r := &runner{api: api, hist: newHistory(), tally: tl, start: time.Now(), deadline: 45 * time.Second}

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

	// The fault, from this goroutine: kill a master at 30 % of the
	// workflows, wait for its replica to take over, and bring it back
	// (as the new master's replica) so the shard's writes can be
	// confirmed again.
	for float64(done.Load()) < 0.3*float64(len(wfs)) {
		time.Sleep(5 * time.Millisecond)
	}
	masters, err := c.Masters()
	if err != nil || len(masters) == 0 {
		t.Fatalf("masters: %v %v", masters, err)
	}
	var victim *redistest.Server
	for _, n := range c.Nodes {
		if n.Addr == masters[0] {
			victim = n
		}
	}
	killedAt := time.Now()
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		now, err := c.Masters()
		if err == nil && len(now) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no replica took over within 30 s: masters %v %v", now, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	failover := time.Since(killedAt)
	if err := victim.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	<-ran
	took := time.Since(r.start)

	// Every key sent once more, then settled, as in TestReservationsUnderFaults.
	forEach(16, wfs, func(_ int, w *workflow) {
		r.replay(w)
		r.resolve(w)
	})
	a := audit(t, api, wfs, skus, warehouses, onHand, tl)
	illegal, unknown, histOps, maxHist := checkLinearizable(t, r.hist, onHand)
	for _, e := range tl.examples {
		t.Log(e)
	}
	f.count("ops", ops)
	f.count("workflows", len(wfs))
	f.count("workers", workers)
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
	f.count("history_ops", histOps)
	f.count("max_ops_per_warehouse", maxHist)
	f.count("attempts", tl.attempts.Load())
	f.count("retries", tl.retries.Load())
	f.count("http_5xx", tl.http5xx.Load())
	f.dur("failover", failover)
	f.dur("max_op", time.Duration(tl.maxOp.Load()))
	f.dur("run", took)
}
