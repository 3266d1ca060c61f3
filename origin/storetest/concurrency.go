package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/origin/store"
)

// testConcurrentReserveExact is the scenario from the product brief: 100 on
// hand, 150 concurrent reservations of one unit: exactly 100 succeed.
func testConcurrentReserveExact(t *testing.T, s store.Store) {
	const onHand, buyers = 100, 150
	mustSetStock(t, s, "hot", "w1", onHand)
	var ok, short atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	ids := make([]string, buyers)
	for i := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := reserveReq(s, "hot", "", 1, time.Hour)
			<-start
			res, err := s.Reserve(t.Context(), r)
			switch {
			case err == nil && res.ID == r.ID && res.Status == store.StatusHeld && res.Warehouse == "w1":
				ok.Add(1)
				ids[i] = r.ID
			case errors.Is(err, store.ErrInsufficientStock):
				short.Add(1)
			default:
				t.Errorf("Reserve: %+v, %v", res, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if ok.Load() != onHand || short.Load() != buyers-onHand {
		t.Fatalf("%d reservations succeeded and %d were refused; want %d and %d", ok.Load(), short.Load(), onHand, buyers-onHand)
	}
	v := mustGetStock(t, s, "hot")
	checkView(t, "after the rush", v, "hot", 1+onHand, map[string]wh{"w1": {onHand, onHand}})
	if v.Available != 0 {
		t.Fatalf("available = %d, want 0", v.Available)
	}
	if h := sum(mustHeads(t, s)); h != 1+onHand {
		t.Fatalf("change log holds %d changes, want %d (one per successful write)", h, 1+onHand)
	}
	for _, id := range ids {
		if id != "" {
			if r := mustGetRes(t, s, id); r.Status != store.StatusHeld || r.Qty != 1 {
				t.Fatalf("reservation %s = %+v", id, r)
			}
		}
	}
}

// The random workload of testConcurrentNoOversell.
const (
	nosWorkers = 16
	nosRounds  = 4
	nosOps     = 20 // per worker per round
	nosInitial = 15 // on hand per warehouse at the start
)

var (
	nosSKUs       = []string{"nos-a", "nos-b", "nos-c"}
	nosWarehouses = []string{"w1", "w2"}
)

// nosModel is what the store acknowledged. Everything a final state
// depends on is a sum, so the order in which workers record does not
// matter; what each reservation became is read back from the store.
type nosModel struct {
	mu       sync.Mutex
	adjusted map[string]int64 // "sku/wh" -> sum of accepted deltas
	adjusts  map[string]int   // sku -> accepted adjusts
	created  map[string]store.Reservation
	ids      []string
	replayed []string // IDs that replays returned
}

// nosClock is the workload's logical time: every operation moves it by
// 100ms, so holds (TTL 1..20s) expire while the workload runs.
type nosClock struct{ ticks atomic.Int64 }

func (c *nosClock) now() time.Time {
	return t0.Add(time.Duration(c.ticks.Add(1)) * 100 * time.Millisecond)
}

// testConcurrentNoOversell runs random reservations, commits, releases,
// adjusts and expiries from many goroutines over a few SKUs, and checks the
// stock invariants exactly between rounds and loosely (never oversold,
// versions never go back) while the workers run.
func testConcurrentNoOversell(t *testing.T, s store.Store) {
	m := &nosModel{adjusted: map[string]int64{}, adjusts: map[string]int{}, created: map[string]store.Reservation{}}
	for _, sku := range nosSKUs {
		for _, w := range nosWarehouses {
			mustSetStock(t, s, sku, w, nosInitial)
		}
	}
	clk := &nosClock{}
	for round := range nosRounds {
		stop := make(chan struct{})
		watcherDone := make(chan struct{})
		go func() {
			defer close(watcherDone)
			watchStock(t, s, stop)
		}()
		var wg sync.WaitGroup
		for worker := range nosWorkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(round), uint64(worker)))
				for range nosOps {
					nosStep(t, s, m, clk, rng)
				}
			}()
		}
		wg.Wait()
		close(stop)
		<-watcherDone
		if t.Failed() {
			return
		}
		checkNoOversell(t, s, m, fmt.Sprintf("after round %d", round+1))
		for _, sku := range nosSKUs {
			checkReplay(t, s, sku, fmt.Sprintf("after round %d", round+1))
		}
	}
	// Let every hold run out, and check once more with nothing held.
	for {
		n, err := s.ExpireHolds(t.Context(), clk.now().Add(time.Hour), 1000)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	checkNoOversell(t, s, m, "after all holds expired")
	checkLogVersions(t, s)
	for _, sku := range nosSKUs {
		checkReplay(t, s, sku, "after the no-oversell run")
	}
}

// nosStep does one random operation and records what the store accepted.
func nosStep(t *testing.T, s store.Store, m *nosModel, clk *nosClock, rng *rand.Rand) {
	ctx := t.Context()
	sku := nosSKUs[rng.IntN(len(nosSKUs))]
	w := nosWarehouses[rng.IntN(len(nosWarehouses))]
	pickID := func() string {
		m.mu.Lock()
		defer m.mu.Unlock()
		if len(m.ids) == 0 {
			return ""
		}
		return m.ids[rng.IntN(len(m.ids))]
	}
	switch op := rng.IntN(100); {
	case op < 40: // reserve, sometimes idempotent, sometimes anywhere
		r := store.ReserveRequest{ID: newID(s, sku), SKU: sku, Qty: 1 + rng.Int64N(4), Now: clk.now(),
			TTL: time.Duration(1+rng.IntN(20)) * time.Second}
		if rng.IntN(2) == 0 {
			r.Warehouse = w
		}
		if rng.IntN(5) == 0 {
			// A small pool of keys whose parameters (SKU included: keys
			// are global) follow from the key, so concurrent repeats race
			// to be first but never mismatch.
			k := rng.IntN(6)
			r.IdempotencyKey = fmt.Sprintf("idem-%s-%d", sku, k)
			r.Qty, r.Warehouse, r.TTL = int64(1+k%3), "", 20*time.Second
		}
		res, err := s.Reserve(ctx, r)
		switch {
		case err == nil && res.Replayed:
			m.mu.Lock()
			m.replayed = append(m.replayed, res.ID)
			m.mu.Unlock()
		case err == nil:
			if res.ID != r.ID || res.Qty != r.Qty || res.Status != store.StatusHeld || (r.Warehouse != "" && res.Warehouse != r.Warehouse) {
				t.Errorf("Reserve(%+v) = %+v", r, res)
				return
			}
			m.mu.Lock()
			m.created[res.ID] = res
			m.ids = append(m.ids, res.ID)
			m.mu.Unlock()
		case errors.Is(err, store.ErrInsufficientStock):
		default:
			t.Errorf("Reserve(%+v): %v", r, err)
		}
	case op < 60:
		if id := pickID(); id != "" {
			res, err := s.CommitReservation(ctx, id, clk.now())
			if err != nil && !errors.Is(err, store.ErrNotHeld) && !errors.Is(err, store.ErrReservationExpired) {
				t.Errorf("CommitReservation: %v", err)
			}
			if err == nil && res.Status != store.StatusCommitted {
				t.Errorf("CommitReservation returned status %q without error", res.Status)
			}
		}
	case op < 75:
		if id := pickID(); id != "" {
			res, err := s.ReleaseReservation(ctx, id)
			if err != nil && !errors.Is(err, store.ErrNotHeld) {
				t.Errorf("ReleaseReservation: %v", err)
			}
			if err == nil && res.Status != store.StatusReleased && res.Status != store.StatusExpired {
				t.Errorf("ReleaseReservation returned status %q without error", res.Status)
			}
		}
	case op < 80: // transfer between the two warehouses
		from, to := nosWarehouses[0], nosWarehouses[1]
		if rng.IntN(2) == 0 {
			from, to = to, from
		}
		qty := 1 + rng.Int64N(3)
		_, err := s.WriteStock(ctx, store.StockWrite{Op: store.OpTransfer, SKU: sku, Warehouse: from, To: to, Qty: qty, Reason: "transfer"})
		switch {
		case err == nil:
			m.mu.Lock()
			m.adjusted[sku+"/"+from] -= qty
			m.adjusted[sku+"/"+to] += qty
			m.adjusts[sku]++
			m.mu.Unlock()
		case errors.Is(err, store.ErrInsufficientStock):
		default:
			t.Errorf("transfer %s %s->%s %d: %v", sku, from, to, qty, err)
		}
	case op < 85:
		nosBulk(t, s, m, rng)
	case op < 90:
		delta := rng.Int64N(9) - 4 // -4..4
		if delta == 0 {
			delta = 5
		}
		_, err := s.AdjustStock(ctx, sku, w, delta)
		switch {
		case err == nil:
			m.mu.Lock()
			m.adjusted[sku+"/"+w] += delta
			m.adjusts[sku]++
			m.mu.Unlock()
		case errors.Is(err, store.ErrInsufficientStock):
		default:
			t.Errorf("AdjustStock(%s, %s, %d): %v", sku, w, delta, err)
		}
	default:
		if _, err := s.ExpireHolds(ctx, clk.now(), 1+rng.IntN(5)); err != nil {
			t.Errorf("ExpireHolds: %v", err)
		}
	}
}

// nosJobs numbers the run's bulk jobs.
var nosJobs atomic.Int64

// nosBulk queues a small bulk job of adjusts and transfers over random
// SKUs and runs it to its end; the lines it did not list as failed are
// what the store accepted (a job this small lists every failure).
func nosBulk(t *testing.T, s store.Store, m *nosModel, rng *rand.Rand) {
	q, ok := s.(store.JobQueue)
	if !ok {
		return
	}
	id := fmt.Sprintf("nos%d", nosJobs.Add(1))
	j := store.NewJob{ID: id, Actor: "nos", CreatedAt: t0}
	for line := int64(1); line <= int64(1+rng.IntN(8)); line++ {
		l := store.JobLine{Line: line, SKU: nosSKUs[rng.IntN(len(nosSKUs))], Warehouse: nosWarehouses[rng.IntN(len(nosWarehouses))]}
		if rng.IntN(3) == 0 {
			l.Op, l.Qty, l.To = store.OpTransfer, 1+rng.Int64N(3), nosWarehouses[0]
			if l.Warehouse == l.To {
				l.To = nosWarehouses[1]
			}
		} else {
			l.Op, l.Qty = store.OpAdjust, rng.Int64N(9)-4
			if l.Qty == 0 {
				l.Qty = 3
			}
		}
		j.Valid = append(j.Valid, l)
		j.Lines++
	}
	if _, err := q.CreateJob(t.Context(), j); err != nil {
		t.Errorf("CreateJob: %v", err)
		return
	}
	var done store.Job
	for tries := 0; !done.Ended(); tries++ {
		var err error
		if done, err = q.RunJob(t.Context(), id, "nos", t0, time.Minute); errors.Is(err, store.ErrUnavailable) && tries < 50 {
			continue // replicas slow to acknowledge: a re-run is safe
		} else if err != nil {
			t.Errorf("RunJob %s: %v", id, err)
			return
		}
	}
	failed := map[int64]bool{}
	for _, e := range done.Errors {
		if e.Error != "insufficient_stock" {
			t.Errorf("job %s line %d: %+v", id, e.Line, e)
		}
		failed[e.Line] = true
	}
	if int64(len(failed)) != done.Failed || done.Applied+done.Failed != j.Lines {
		t.Errorf("job %s: %+v", id, done)
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range j.Valid {
		if failed[l.Line] {
			continue
		}
		m.adjusts[l.SKU]++
		m.adjusted[l.SKU+"/"+l.Warehouse] += map[bool]int64{true: -l.Qty, false: l.Qty}[l.Op == store.OpTransfer]
		if l.Op == store.OpTransfer {
			m.adjusted[l.SKU+"/"+l.To] += l.Qty
		}
	}
}

// watchStock reads stock until stop, checking what must hold at every
// instant: never oversold, arithmetic right, versions never go back.
func watchStock(t *testing.T, s store.Store, stop <-chan struct{}) {
	last := map[string]uint64{}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		sku := nosSKUs[i%len(nosSKUs)]
		v, err := s.GetStock(t.Context(), sku)
		if err != nil {
			t.Errorf("GetStock(%s) while writers run: %v", sku, err)
			return
		}
		if err := viewMathErr(v); err != nil {
			t.Errorf("while writers run: %v", err)
			return
		}
		if v.Version < last[sku] {
			t.Errorf("%s: version went back from %d to %d", sku, last[sku], v.Version)
			return
		}
		last[sku] = v.Version
	}
}

// checkNoOversell compares every SKU with the model, exactly: reserved is
// what the held reservations hold, on hand is the start plus accepted
// adjusts minus sales, and the version counts every accepted write.
func checkNoOversell(t *testing.T, s store.Store, m *nosModel, when string) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	held := map[string]int64{}
	sold := map[string]int64{}
	writes := map[string]uint64{}
	for _, sku := range nosSKUs {
		writes[sku] = uint64(len(nosWarehouses)) + uint64(m.adjusts[sku])
	}
	for id, created := range m.created {
		r := mustGetRes(t, s, id)
		if r.SKU != created.SKU || r.Warehouse != created.Warehouse || r.Qty != created.Qty {
			t.Fatalf("%s: reservation %s changed from %+v to %+v", when, id, created, r)
		}
		k := r.SKU + "/" + r.Warehouse
		writes[r.SKU]++ // the reservation
		switch r.Status {
		case store.StatusHeld:
			held[k] += r.Qty
		case store.StatusCommitted:
			sold[k] += r.Qty
			writes[r.SKU]++ // and how it ended
		case store.StatusReleased, store.StatusExpired:
			writes[r.SKU]++
		default:
			t.Fatalf("%s: reservation %s has status %q", when, id, r.Status)
		}
	}
	for _, id := range m.replayed {
		if _, ok := m.created[id]; !ok {
			t.Fatalf("%s: a replay returned reservation %s that no request created", when, id)
		}
	}
	var total uint64
	for _, sku := range nosSKUs {
		want := map[string]wh{}
		for _, w := range nosWarehouses {
			k := sku + "/" + w
			want[w] = wh{onHand: nosInitial + m.adjusted[k] - sold[k], reserved: held[k]}
		}
		checkView(t, when+": "+sku, mustGetStock(t, s, sku), sku, writes[sku], want)
		total += writes[sku]
	}
	if h := sum(mustHeads(t, s)); h != total {
		t.Fatalf("%s: the change log holds %d changes for %d accepted writes", when, h, total)
	}
}

// checkLogVersions reads every partition's log: each key's versions appear
// once each, in order, 1, 2, 3, ..., ending at the key's current version.
func checkLogVersions(t *testing.T, s store.Store) {
	t.Helper()
	last := map[string]change.Change{}
	for p := range s.Partitions().N() {
		for _, c := range allChanges(t, s, p) {
			if c.Partition != p || s.Partitions().PartitionOfKey(c.Key) != p {
				t.Fatalf("change %+v is in partition %d", c, p)
			}
			if prev := last[c.Key]; c.Version != prev.Version+1 {
				t.Fatalf("%s: version %d follows %d in the log", c.Key, c.Version, prev.Version)
			}
			last[c.Key] = c
		}
	}
	for _, sku := range nosSKUs {
		if got, want := last[stockKey(sku)].Version, mustGetStock(t, s, sku).Version; got != want {
			t.Fatalf("%s: log ends at version %d, stock is at %d", sku, got, want)
		}
	}
}
