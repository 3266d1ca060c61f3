package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin/ledger"
	"github.com/shortstock/shortstock/origin/store"
)

// trimAll calls TrimLedger with a small batch until it has nothing left,
// checking every call stays within its max; it returns the total.
func trimAll(t *testing.T, s store.Store, before time.Time, batch int) int {
	t.Helper()
	total := 0
	for range 100_000 {
		n, err := s.TrimLedger(t.Context(), before, batch)
		if err != nil {
			t.Fatalf("TrimLedger(%v, %d): %v", before, batch, err)
		}
		if n < 0 || n > batch {
			t.Fatalf("TrimLedger(max %d) trimmed %d", batch, n)
		}
		if n == 0 {
			return total
		}
		total += n
	}
	t.Fatal("TrimLedger never runs out of work")
	return 0
}

// waitNextMs makes the clock move past the millisecond movements are
// stamped with, so a cutoff taken now splits old from new exactly.
func waitNextMs() time.Time {
	time.Sleep(3 * time.Millisecond)
	cut := time.Now()
	time.Sleep(3 * time.Millisecond)
	return cut
}

// testLedgerRetention: trimming movements older than a cutoff, in small
// batches, leaves each warehouse's balance as one opening movement (at
// the seq of its last trimmed movement), keeps every newer movement as it
// was, and keeps the ledger replaying to the view: verify finds nothing,
// rebuild has nothing to write and still works, the feed goes on with the
// retained movements only, and writes go on.
func testLedgerRetention(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.TrimLedger(ctx, time.Now(), 0); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("TrimLedger max 0: %v, want ErrInvalid", err)
	}
	if _, err := s.TrimLedger(ctx, time.Now(), store.MaxTrimBatch+1); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("TrimLedger max above MaxTrimBatch: %v, want ErrInvalid", err)
	}
	if n := trimAll(t, s, time.Now(), 5); n != 0 {
		t.Fatalf("trimming an empty ledger trimmed %d", n)
	}

	// Old history: two SKUs, three warehouses, every kind of movement.
	mustSetStock(t, s, "RT-1", "w1", 100)
	for range 4 {
		if _, err := s.WriteStock(ctx, store.StockWrite{Op: store.OpAdjust, SKU: "RT-1", Warehouse: "w1", Qty: -3, Reason: "sold", Ref: "o-1", Actor: "k1", IdempotencyKey: newID(s, "ik")}); err != nil {
			t.Fatal(err)
		}
	}
	mustSetStock(t, s, "RT-1", "w2", 7)
	if _, err := s.WriteStock(ctx, store.StockWrite{Op: store.OpTransfer, SKU: "RT-1", Warehouse: "w1", To: "w3", Qty: 10, Reason: "transfer"}); err != nil {
		t.Fatal(err)
	}
	// Stamped now (reserveReq's fixed time would be years ahead: a
	// movement stamped later than its successors stops the trim there,
	// which keeps too much, never too little).
	hold := reserveReq(s, "RT-1", "w1", 5, time.Hour)
	hold.Now = time.Now()
	held := mustReserve(t, s, hold)
	mustSetStock(t, s, "RT-2", "w1", 3)
	old1 := allMovements(t, s, "RT-1", "")
	old2 := allMovements(t, s, "RT-2", "")
	cut := waitNextMs()

	// New history, kept.
	if _, err := s.AdjustStock(ctx, "RT-1", "w2", 2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReleaseReservation(ctx, held.ID); err != nil {
		t.Fatal(err)
	}
	new1 := allMovements(t, s, "RT-1", "")[len(old1):]
	if len(new1) != 2 {
		t.Fatalf("RT-1 has %d new movements, want 2", len(new1))
	}
	feedBefore := partitionFeed(t, s)

	// Trimming nothing older than the first movement changes nothing.
	if n := trimAll(t, s, old1[0].At.Add(-time.Second), 3); n != 0 {
		t.Fatalf("trimming before the first movement trimmed %d", n)
	}
	if n := trimAll(t, s, cut, 3); n != len(old1)+len(old2) {
		t.Fatalf("trimmed %d movements, want the %d older than the cutoff; now %+v", n, len(old1)+len(old2), allMovements(t, s, "RT-1", ""))
	}

	// One opening per warehouse, at its last old movement, then the new
	// movements untouched.
	got := checkReplay(t, s, "RT-1", "after trimming")
	lastOld := map[string]store.Movement{}
	for _, m := range old1 {
		lastOld[m.Warehouse] = m
	}
	if len(got) != len(lastOld)+len(new1) {
		t.Fatalf("RT-1's ledger after trimming has %d movements, want %d openings and %d new: %+v", len(got), len(lastOld), len(new1), got)
	}
	for i, m := range got[:len(lastOld)] {
		want := lastOld[m.Warehouse]
		if m.Kind != store.KindOpening || m.Seq != want.Seq || m.ID != want.ID || m.OnHand != want.OnHand || m.Reserved != want.Reserved ||
			m.DeltaOnHand != want.OnHand || m.DeltaReserved != want.Reserved || m.Version != want.Version || !m.At.Equal(want.At) ||
			m.Reason != "" || m.Ref != "" || m.Actor != "" || m.IdempotencyKey != "" {
			t.Fatalf("movement %d after trimming: %+v, want the opening of %+v", i, m, want)
		}
	}
	for i, m := range got[len(lastOld):] {
		if fmt.Sprint(m) != fmt.Sprint(new1[i]) {
			t.Fatalf("a retained movement changed:\n got %+v\nwant %+v", m, new1[i])
		}
	}
	checkReplay(t, s, "RT-2", "after trimming")
	if _, diffs := verifyAll(t, s); len(diffs) != 0 {
		t.Fatalf("verify after trimming: %+v", diffs)
	}
	if wrote, err := ledger.RebuildSKU(ctx, s, "RT-1"); err != nil || wrote {
		t.Fatalf("rebuild after trimming: wrote %v, %v", wrote, err)
	}
	// The feed goes on with what was retained: no openings, no trimmed
	// movements, nothing retained missing.
	var wantFeed []string
	for _, m := range feedBefore {
		if m.At.After(cut) {
			wantFeed = append(wantFeed, m.ID)
		}
	}
	var gotFeed []string
	for _, m := range partitionFeed(t, s) {
		gotFeed = append(gotFeed, m.ID)
	}
	if fmt.Sprint(gotFeed) != fmt.Sprint(wantFeed) {
		t.Fatalf("feed after trimming: %v, want %v", gotFeed, wantFeed)
	}

	// Trim everything: an opening replaces the older one, never piles up,
	// and a SKU with no movement left but openings still replays and
	// rebuilds (its ledger ends at its newest opening).
	trimAll(t, s, waitNextMs(), 4)
	got = checkReplay(t, s, "RT-1", "after trimming everything")
	if len(got) != 3 {
		t.Fatalf("RT-1 after trimming everything: %+v, want one opening per warehouse", got)
	}
	for _, m := range got {
		if m.Kind != store.KindOpening {
			t.Fatalf("RT-1 after trimming everything: %+v", got)
		}
	}
	view := mustGetStock(t, s, "RT-1")
	if err := s.RebuildStock(ctx, view, got[len(got)-1].Seq); err != nil {
		t.Fatalf("RebuildStock of a SKU with openings only: %v", err)
	}
	if err := s.RebuildStock(ctx, view, got[len(got)-1].Seq-1); !errors.Is(err, store.ErrVersionMismatch) {
		t.Fatalf("RebuildStock with a stale seq after trimming: %v, want ErrVersionMismatch", err)
	}
	if _, err := s.AdjustStock(ctx, "RT-1", "w1", 1); err != nil {
		t.Fatal(err)
	}
	checkReplay(t, s, "RT-1", "after a write on a trimmed ledger")
	if _, diffs := verifyAll(t, s); len(diffs) != 0 {
		t.Fatalf("verify after trimming everything: %+v", diffs)
	}
}

// partitionFeed reads every partition's feed from the start.
func partitionFeed(t *testing.T, s store.Store) []store.Movement {
	t.Helper()
	var out []store.Movement
	for p := range s.Partitions().N() {
		var after uint64
		for {
			page, err := s.PartitionMovements(t.Context(), p, after, 50)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			out = append(out, page...)
			after = page[len(page)-1].Seq
		}
	}
	return out
}

// testLedgerRetentionConcurrent: trimming while writers run (cutoff
// always "now", so it trims right behind them) and readers replay: every
// replay a reader makes matches a view the SKU had, and at the end the
// ledger replays to the view.
func testLedgerRetentionConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	skus := []string{"RC-1", "RC-2", "RC-3"}
	for _, sku := range skus {
		mustSetStock(t, s, sku, "w1", 1000)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 8)
	for i, sku := range skus {
		wg.Go(func() {
			for j := range 60 {
				w := store.StockWrite{Op: store.OpAdjust, SKU: sku, Warehouse: "w1", Qty: int64(j%5) - 2}
				if j%7 == 6 {
					w = store.StockWrite{Op: store.OpTransfer, SKU: sku, Warehouse: "w1", To: fmt.Sprintf("w%d", 2+j%2), Qty: 1}
				}
				if _, err := s.WriteStock(ctx, w); err != nil {
					errs <- fmt.Errorf("writer %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.TrimLedger(ctx, time.Now(), 7); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, sku := range skus {
				if _, _, err := ledger.Replay(ctx, s, sku); err != nil {
					errs <- fmt.Errorf("replay while trimming: %w", err)
					return
				}
			}
		}
	})
	// Writers first, then the trimmer and reader.
	deadline := time.Now().Add(time.Minute)
	for _, sku := range skus {
		for {
			v := mustGetStock(t, s, sku)
			if v.Version >= 61 || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	trimAll(t, s, waitNextMs(), 50)
	for _, sku := range skus {
		checkReplay(t, s, sku, "after trimming under writers")
	}
	if _, diffs := verifyAll(t, s); len(diffs) != 0 {
		t.Fatalf("verify after trimming under writers: %+v", diffs)
	}
}
