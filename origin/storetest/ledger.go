package storetest

import (
	"errors"
	"fmt"
	"github.com/shortstock/shortstock/internal/keys"
	"slices"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin/ledger"
	"github.com/shortstock/shortstock/origin/store"
)

// allMovements reads a SKU's whole ledger page by page with a small limit,
// so paging is exercised too.
func allMovements(t *testing.T, s store.Store, sku, warehouse string) []store.Movement {
	t.Helper()
	var out []store.Movement
	var after uint64
	for range 100_000 {
		page, err := s.Movements(t.Context(), store.MovementQuery{SKU: sku, Warehouse: warehouse, After: after, Limit: 7})
		if err != nil {
			t.Fatalf("Movements(%s after %d): %v", sku, after, err)
		}
		if len(page.Movements) > 7 {
			t.Fatalf("Movements(%s, limit 7) returned %d", sku, len(page.Movements))
		}
		out = append(out, page.Movements...)
		if page.Next == 0 {
			return out
		}
		if page.Next <= after {
			t.Fatalf("Movements(%s after %d): next %d does not move on", sku, after, page.Next)
		}
		after = page.Next
	}
	t.Fatalf("Movements(%s) never ends", sku)
	return nil
}

// checkReplay replays a SKU's ledger and requires exactly its stored view.
func checkReplay(t *testing.T, s store.Store, sku, when string) []store.Movement {
	t.Helper()
	moves := allMovements(t, s, sku, "")
	got, err := store.Replay(sku, moves)
	if err != nil {
		t.Fatalf("%s: replaying %s: %v", when, sku, err)
	}
	if view := mustGetStock(t, s, sku); !store.SameView(got, view) {
		t.Fatalf("%s: replaying %s's %d movements gives %+v, the view is %+v", when, sku, len(moves), got, view)
	}
	return moves
}

// wantMove is the part of a movement a test predicts.
type wantMove struct {
	warehouse, kind  string
	dOnHand, dRes    int64
	onHand, reserved int64
	version          uint64
	reason, ref      string
	actor, ik        string
}

func checkMoves(t *testing.T, what string, got []store.Movement, want []wantMove) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d movements, want %d: %+v", what, len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		gw := wantMove{g.Warehouse, g.Kind, g.DeltaOnHand, g.DeltaReserved, g.OnHand, g.Reserved, g.Version, g.Reason, g.Ref, g.Actor, g.IdempotencyKey}
		if w.ref == "*" { // a reservation ID the test does not know in advance
			w.ref = g.Ref
		}
		if gw != w {
			t.Fatalf("%s: movement %d is\n %+v\nwant\n %+v", what, i, gw, w)
		}
		if g.ID == "" || g.Cursor == "" || g.SKU == "" || g.At.IsZero() || g.At.Location() != time.UTC {
			t.Fatalf("%s: movement %d lacks id, cursor, sku or a UTC time: %+v", what, i, g)
		}
		if i > 0 && g.Seq <= got[i-1].Seq {
			t.Fatalf("%s: movement %d has seq %d after %d", what, i, g.Seq, got[i-1].Seq)
		}
	}
}

// testLedgerEveryStockWrite: every kind of stock change appends its
// movements with the state after it, and the ledger replays to the view.
func testLedgerEveryStockWrite(t *testing.T, s store.Store) {
	ctx := t.Context()
	const sku = "LED-1"
	if page, err := s.Movements(ctx, store.MovementQuery{SKU: sku}); err != nil || len(page.Movements) != 0 || page.Next != 0 {
		t.Fatalf("Movements of an unknown SKU = %+v, %v; want empty", page, err)
	}
	write := func(w store.StockWrite) store.StockView {
		t.Helper()
		v, err := s.WriteStock(ctx, w)
		if err != nil {
			t.Fatalf("WriteStock(%+v): %v", w, err)
		}
		return v
	}
	write(store.StockWrite{Op: store.OpSet, SKU: sku, Warehouse: "w1", Qty: 10, Reason: "cycle_count", Ref: "count-7", Actor: "key-a", IdempotencyKey: "ik-1"})
	write(store.StockWrite{Op: store.OpAdjust, SKU: sku, Warehouse: "w1", Qty: 5, Reason: "received", Ref: "po-1", Actor: "key-a"})
	lw := watchLog(t, s)
	v := write(store.StockWrite{Op: store.OpTransfer, SKU: sku, Warehouse: "w1", To: "w2", Qty: 4, Reason: "transfer", Ref: "tr-1", Actor: "key-b"})
	checkView(t, "after a transfer", v, sku, 3, map[string]wh{"w1": {11, 0}, "w2": {4, 0}})
	lw.wrote(stockKey(sku), 3) // one change (edges invalidate) for both movements
	hold := mustReserve(t, s, store.ReserveRequest{ID: newID(s, sku), SKU: sku, Warehouse: "w1", Qty: 3, Now: t0, TTL: time.Minute, Actor: "key-c", IdempotencyKey: "cart-1"})
	if _, err := s.CommitReservation(ctx, hold.ID, t0); err != nil {
		t.Fatal(err)
	}
	rel := mustReserve(t, s, reserveReq(s, sku, "w2", 2, time.Minute))
	if _, err := s.ReleaseReservation(ctx, rel.ID); err != nil {
		t.Fatal(err)
	}
	mustReserve(t, s, reserveReq(s, sku, "w2", 1, time.Minute))
	if n, err := s.ExpireHolds(ctx, t0.Add(time.Hour), 10); err != nil || n != 1 {
		t.Fatalf("ExpireHolds = %d, %v; want 1", n, err)
	}
	write(store.StockWrite{Op: store.OpSet, SKU: sku, Warehouse: "w2", Qty: 1, Reason: "damaged"})

	moves := checkReplay(t, s, sku, "after every kind of write")
	checkMoves(t, "the ledger", moves, []wantMove{
		{"w1", store.KindSet, 10, 0, 10, 0, 1, "cycle_count", "count-7", "key-a", "ik-1"},
		{"w1", store.KindAdjust, 5, 0, 15, 0, 2, "received", "po-1", "key-a", ""},
		{"w1", store.KindTransferOut, -4, 0, 11, 0, 3, "transfer", "tr-1", "key-b", ""},
		{"w2", store.KindTransferIn, 4, 0, 4, 0, 3, "transfer", "tr-1", "key-b", ""},
		{"w1", store.KindHold, 0, 3, 11, 3, 4, "", hold.ID, "key-c", "cart-1"},
		{"w1", store.KindCommit, -3, -3, 8, 0, 5, "", hold.ID, "", ""},
		{"w2", store.KindHold, 0, 2, 4, 2, 6, "", rel.ID, "", ""},
		{"w2", store.KindRelease, 0, -2, 4, 0, 7, "", rel.ID, "", ""},
		{"w2", store.KindHold, 0, 1, 4, 1, 8, "", "*", "", ""},
		{"w2", store.KindExpire, 0, -1, 4, 0, 9, "", "*", "", ""},
		{"w2", store.KindSet, -3, 0, 1, 0, 10, "damaged", "", "", ""},
	})
	if moves[8].Ref != moves[9].Ref || moves[8].Ref == "" {
		t.Fatalf("the expired hold's movements name %q and %q", moves[8].Ref, moves[9].Ref)
	}
	w2 := allMovements(t, s, sku, "w2")
	if len(w2) != 6 {
		t.Fatalf("movements of w2: %d, want 6: %+v", len(w2), w2)
	}
	for _, m := range w2 {
		if m.Warehouse != "w2" {
			t.Fatalf("warehouse filter returned %+v", m)
		}
	}
	// Another SKU's ledger is its own.
	mustSetStock(t, s, "LED-2", "w1", 1)
	if got := allMovements(t, s, "LED-2", ""); len(got) != 1 || got[0].SKU != "LED-2" {
		t.Fatalf("LED-2's ledger = %+v", got)
	}
	if got := allMovements(t, s, sku, ""); len(got) != len(moves) {
		t.Fatalf("another SKU's write changed %s's ledger: %d movements, was %d", sku, len(got), len(moves))
	}
}

// testLedgerRefusedWrites: a refused write (bad reason, stale version,
// transfer of more than is available, negative transfer) changes nothing:
// no movement, no version.
func testLedgerRefusedWrites(t *testing.T, s store.Store) {
	ctx := t.Context()
	const sku = "LED-R"
	mustSetStock(t, s, sku, "w1", 5)
	mustReserve(t, s, reserveReq(s, sku, "w1", 2, time.Hour)) // version 2, 3 available
	lw := watchLog(t, s)
	for _, c := range []struct {
		what string
		w    store.StockWrite
		want error
	}{
		{"unknown reason", store.StockWrite{Op: store.OpAdjust, SKU: sku, Warehouse: "w1", Qty: 1, Reason: "stolen"}, store.ErrInvalidReason},
		{"stale If-Match", store.StockWrite{Op: store.OpAdjust, SKU: sku, Warehouse: "w1", Qty: 1, IfVersion: 1}, store.ErrVersionMismatch},
		{"If-Match of a future version", store.StockWrite{Op: store.OpSet, SKU: sku, Warehouse: "w1", Qty: 9, IfVersion: 3}, store.ErrVersionMismatch},
		{"If-Match on an unknown SKU", store.StockWrite{Op: store.OpSet, SKU: "LED-none", Warehouse: "w1", Qty: 9, IfVersion: 1}, store.ErrVersionMismatch},
		{"transfer of reserved stock", store.StockWrite{Op: store.OpTransfer, SKU: sku, Warehouse: "w1", To: "w2", Qty: 4}, store.ErrInsufficientStock},
		{"transfer from a missing warehouse", store.StockWrite{Op: store.OpTransfer, SKU: sku, Warehouse: "w9", To: "w1", Qty: 1}, store.ErrNotFound},
		{"negative transfer", store.StockWrite{Op: store.OpTransfer, SKU: sku, Warehouse: "w1", To: "w2", Qty: -1}, store.ErrInvalid},
		{"transfer to itself", store.StockWrite{Op: store.OpTransfer, SKU: sku, Warehouse: "w1", To: "w1", Qty: 1}, store.ErrInvalid},
	} {
		_, err := s.WriteStock(ctx, c.w)
		wantErr(t, c.what, err, c.want)
	}
	lw.unchanged("refused writes")
	checkView(t, "after refused writes", mustGetStock(t, s, sku), sku, 2, map[string]wh{"w1": {5, 2}})
	if got := allMovements(t, s, sku, ""); len(got) != 2 {
		t.Fatalf("refused writes left movements: %+v", got)
	}
	// The right version goes through, and a transfer of all that is
	// available empties the source down to what is reserved.
	v, err := s.WriteStock(ctx, store.StockWrite{Op: store.OpTransfer, SKU: sku, Warehouse: "w1", To: "w2", Qty: 3, IfVersion: 2})
	if err != nil {
		t.Fatalf("transfer with the current version: %v", err)
	}
	checkView(t, "after the transfer", v, sku, 3, map[string]wh{"w1": {2, 2}, "w2": {3, 0}})
	checkReplay(t, s, sku, "after a transfer")
}

// testLedgerConcurrentWriters: writers of one SKU from many goroutines;
// the ledger has exactly one movement per accepted write, versions in
// order, and replays to the view.
func testLedgerConcurrentWriters(t *testing.T, s store.Store) {
	const sku = "LED-C"
	mustSetStock(t, s, sku, "w1", 100)
	mustSetStock(t, s, sku, "w2", 100)
	errs := make(chan error, 8)
	accepted := make(chan int, 8)
	for g := range 8 {
		go func() {
			n := 0
			for i := range 25 {
				w := store.StockWrite{Op: store.OpAdjust, SKU: sku, Warehouse: "w1", Qty: int64(i%5 - 2), Reason: "correction"}
				if i%3 == 0 {
					w = store.StockWrite{Op: store.OpTransfer, SKU: sku, Warehouse: "w2", To: "w1", Qty: 1}
					if g%2 == 0 {
						w.Warehouse, w.To = "w1", "w2"
					}
				}
				if w.Qty == 0 {
					w.Qty = 1
				}
				_, err := s.WriteStock(t.Context(), w)
				switch {
				case err == nil:
					n++
				case errors.Is(err, store.ErrInsufficientStock):
				default:
					errs <- fmt.Errorf("WriteStock(%+v): %w", w, err)
					return
				}
			}
			errs <- nil
			accepted <- n
		}()
	}
	total := 2
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		total += <-accepted
	}
	moves := checkReplay(t, s, sku, "after concurrent writers")
	versions := map[uint64]int{}
	for _, m := range moves {
		versions[m.Version]++
	}
	if len(versions) != total {
		t.Fatalf("%d accepted writes, the ledger has %d versions", total, len(versions))
	}
	for v := uint64(1); v <= uint64(total); v++ {
		if versions[v] == 0 {
			t.Fatalf("version %d has no movement", v)
		}
	}
}

// testStockWriteIdempotency: a repeated Idempotency-Key on a stock write
// answers the first view and writes nothing; the key with another write,
// or another SKU, is refused; a refused write records nothing; racing
// repeats apply once.
func testStockWriteIdempotency(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustSetStock(t, s, "IK-1", "w1", 10)
	mustSetStock(t, s, "IK-2", "w1", 10)
	adj := store.StockWrite{Op: store.OpAdjust, SKU: "IK-1", Warehouse: "w1", Qty: 3, Reason: "received", IdempotencyKey: "ik-a"}
	first, err := s.WriteStock(ctx, adj)
	if err != nil || first.Replayed {
		t.Fatalf("first write: %+v, %v", first, err)
	}
	mustSetStock(t, s, "IK-1", "w2", 1) // the SKU moves on
	lw := watchLog(t, s)
	again, err := s.WriteStock(ctx, adj)
	if err != nil || !again.Replayed || !store.SameView(again, first) {
		t.Fatalf("repeat: %+v, %v; want the first answer %+v, replayed", again, err, first)
	}
	diff := adj
	diff.Qty = 4
	_, err = s.WriteStock(ctx, diff)
	wantErr(t, "same key, other delta", err, store.ErrIdempotencyMismatch)
	other := adj
	other.SKU = "IK-2"
	_, err = s.WriteStock(ctx, other)
	wantErr(t, "same key, other SKU", err, store.ErrIdempotencyMismatch)
	lw.unchanged("replays and mismatches")
	if n := len(allMovements(t, s, "IK-1", "")); n != 3 {
		t.Fatalf("IK-1 has %d movements, want 3 (set, adjust, set)", n)
	}
	if n := len(allMovements(t, s, "IK-2", "")); n != 1 {
		t.Fatalf("IK-2 has %d movements, want 1", n)
	}

	// A refused write records nothing: the same request may succeed later.
	big := store.StockWrite{Op: store.OpAdjust, SKU: "IK-2", Warehouse: "w1", Qty: -15, IdempotencyKey: "ik-b"}
	_, err = s.WriteStock(ctx, big)
	wantErr(t, "refused write", err, store.ErrInsufficientStock)
	mustSetStock(t, s, "IK-2", "w1", 20)
	if v, err := s.WriteStock(ctx, big); err != nil || v.Replayed || v.Warehouses["w1"].OnHand != 5 {
		t.Fatalf("retry after the refusal: %+v, %v", v, err)
	}

	// Racing repeats of one request: one movement.
	race := store.StockWrite{Op: store.OpTransfer, SKU: "IK-2", Warehouse: "w1", To: "w9", Qty: 1, IdempotencyKey: "ik-c"}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := s.WriteStock(ctx, race)
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatalf("racing repeat: %v", err)
		}
	}
	var n int
	for _, m := range allMovements(t, s, "IK-2", "") {
		if m.IdempotencyKey == "ik-c" {
			n++
		}
	}
	if n != 2 { // transfer_out and transfer_in, once
		t.Fatalf("racing repeats left %d movements with the key, want 2", n)
	}
	checkReplay(t, s, "IK-2", "after idempotent writes")
}

// testLedgerVerifyRebuild: a projection that differs from its ledger is
// reported by verify and put right by rebuild; RebuildStock is a
// compare-and-set on the SKU's last movement and never lowers a version.
func testLedgerVerifyRebuild(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustSetStock(t, s, "VR-1", "w1", 10)
	mustSetStock(t, s, "VR-1", "w2", 4)
	mustSetStock(t, s, "VR-2", "w1", 3)
	moves := allMovements(t, s, "VR-1", "")
	last := moves[len(moves)-1].Seq
	checked, diffs := verifyAll(t, s)
	if checked != 2 || len(diffs) != 0 {
		t.Fatalf("verify of a sound store: checked %d, diffs %+v", checked, diffs)
	}

	// Damage VR-1's projection (same version, wrong counts).
	bad := mustGetStock(t, s, "VR-1")
	bad.Warehouses = map[string]store.WarehouseStock{"w1": {OnHand: 99, Available: 99}}
	bad.Available = 99
	if err := s.RebuildStock(ctx, bad, last-1); !errors.Is(err, store.ErrVersionMismatch) {
		t.Fatalf("RebuildStock with a stale ledger seq: %v, want ErrVersionMismatch", err)
	}
	older := bad
	older.Version = 1
	if err := s.RebuildStock(ctx, older, last); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("RebuildStock to an older version: %v, want ErrInvalid", err)
	}
	lw := watchLog(t, s)
	if err := s.RebuildStock(ctx, bad, last); err != nil {
		t.Fatalf("RebuildStock: %v", err)
	}
	lw.wrote(stockKey("VR-1"), bad.Version) // edges hear of it
	if got := mustGetStock(t, s, "VR-1"); got.Warehouses["w1"].OnHand != 99 || len(got.Warehouses) != 1 {
		t.Fatalf("after RebuildStock: %+v", got)
	}
	_, diffs = verifyAll(t, s)
	if len(diffs) != 1 || diffs[0].SKU != "VR-1" || diffs[0].Ledger == nil || diffs[0].Ledger.Warehouses["w2"].OnHand != 4 {
		t.Fatalf("verify of a damaged view: %+v", diffs)
	}

	// Rebuild puts it right; a second rebuild has nothing to do.
	var rebuilt []string
	if _, err := ledger.Rebuild(ctx, s, func(sku string) { rebuilt = append(rebuilt, sku) }); err != nil {
		t.Fatal(err)
	}
	if len(rebuilt) != 1 || rebuilt[0] != "VR-1" {
		t.Fatalf("rebuilt %v, want [VR-1]", rebuilt)
	}
	checkReplay(t, s, "VR-1", "after rebuild")
	if _, diffs = verifyAll(t, s); len(diffs) != 0 {
		t.Fatalf("verify after rebuild: %+v", diffs)
	}
	if wrote, err := ledger.RebuildSKU(ctx, s, "VR-1"); err != nil || wrote {
		t.Fatalf("second rebuild: wrote %v, %v", wrote, err)
	}
	// Writes go on from the rebuilt view.
	if _, err := s.AdjustStock(ctx, "VR-1", "w2", 1); err != nil {
		t.Fatal(err)
	}
	checkReplay(t, s, "VR-1", "after a write on the rebuilt view")
}

func verifyAll(t *testing.T, s store.Store) (int, []ledger.Diff) {
	t.Helper()
	var diffs []ledger.Diff
	n, err := ledger.Verify(t.Context(), s, func(d ledger.Diff) { diffs = append(diffs, d) })
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return n, diffs
}

// testLedgerFeed: a reader following the feed in small pages while writers
// run sees every movement of every SKU exactly once, each partition's in
// order, and resumes from any cursor without gaps or duplicates.
func testLedgerFeed(t *testing.T, s store.Store) {
	ctx := t.Context()
	skus := []string{"F-a", "F-b", "F-c", "F-d", "F-e", "F-f"}
	if page, cur, err := ledger.ReadFeed(ctx, s, nil, 10); err != nil || len(page) != 0 || !cur.Equal(nil) {
		t.Fatalf("feed of an empty store: %v %v", page, err)
	}
	done := make(chan error, len(skus))
	for i, sku := range skus {
		go func() {
			for j := range 15 {
				w := store.StockWrite{Op: store.OpAdjust, SKU: sku, Warehouse: "w1", Qty: 1 + int64(j%3)}
				if j%4 == 3 {
					w = store.StockWrite{Op: store.OpTransfer, SKU: sku, Warehouse: "w1", To: "w2", Qty: 1}
				}
				if _, err := s.WriteStock(ctx, w); err != nil {
					done <- fmt.Errorf("writer %d: %w", i, err)
					return
				}
			}
			done <- nil
		}()
	}
	seen := map[string]bool{}
	lastSeq := map[int]uint64{}
	var cur ledger.Cursor
	var cursors []ledger.Cursor
	read := func() int {
		page, next, err := ledger.ReadFeed(ctx, s, cur, 7)
		if err != nil {
			t.Fatalf("ReadFeed: %v", err)
		}
		for _, m := range page {
			if seen[m.ID] {
				t.Fatalf("movement %s delivered twice", m.ID)
			}
			seen[m.ID] = true
			if m.Seq <= lastSeq[m.Partition] {
				t.Fatalf("partition %d: seq %d after %d", m.Partition, m.Seq, lastSeq[m.Partition])
			}
			lastSeq[m.Partition] = m.Seq
			if c, err := ledger.ParseCursor(m.Cursor); err != nil || c.At(m.Partition) != m.Seq {
				t.Fatalf("movement %s has cursor %q (%v)", m.ID, m.Cursor, err)
			}
		}
		cur = next
		cursors = append(cursors, cur)
		return len(page)
	}
	for range skus {
		for {
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			default:
				read()
				continue
			}
			break
		}
	}
	for read() > 0 {
	}
	want := 0
	for _, sku := range skus {
		for _, m := range allMovements(t, s, sku, "") {
			want++
			if !seen[m.ID] {
				t.Fatalf("movement %s (%s) never delivered", m.ID, sku)
			}
		}
	}
	if len(seen) != want {
		t.Fatalf("the feed delivered %d movements, the ledgers hold %d", len(seen), want)
	}
	// Resuming from an earlier cursor delivers exactly what came after it.
	mid := cursors[len(cursors)/2]
	s2, _ := ledger.ParseCursor(mid.String())
	n := 0
	for {
		page, next, err := ledger.ReadFeed(ctx, s, s2, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		n += len(page)
		s2 = next
	}
	var before int
	for p, seq := range mid {
		for _, m := range seenByPartition(seen, p) {
			if m <= seq {
				before++
			}
		}
	}
	if before+n != want {
		t.Fatalf("resume from a cursor: %d before it + %d after = %d, want %d", before, n, before+n, want)
	}
}

// seenByPartition lists the seqs of delivered movement IDs of partition p.
func seenByPartition(seen map[string]bool, p int) []uint64 {
	var out []uint64
	prefix := store.MovementID(p, 0)
	prefix = prefix[:len(prefix)-1]
	for id := range seen {
		if len(id) > len(prefix) && id[:len(prefix)] == prefix {
			var seq uint64
			fmt.Sscanf(id[len(prefix):], "%d", &seq)
			out = append(out, seq)
		}
	}
	return out
}

// testLedgerFeedTimeOrder: the feed merges partitions by time. Writes made
// one after another, each in a later millisecond, cycling over SKUs of
// several partitions, are read back in the order they were made, whole or
// in pages of any size.
func testLedgerFeedTimeOrder(t *testing.T, s store.Store) {
	ctx := t.Context()
	skus := []string{"FT-a", "FT-b", "FT-c", "FT-d"}
	parts := map[int]bool{}
	for _, sku := range skus {
		parts[s.Partitions().Partition(keys.KindStock, sku)] = true
	}
	if len(parts) < 3 {
		t.Fatalf("the SKUs fall in %d partitions; the test needs several", len(parts))
	}
	start, err := s.LedgerHeads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var cur ledger.Cursor
	for p, h := range start {
		if h > 0 {
			cur = append(cur, make(ledger.Cursor, p+1-len(cur))...)
			cur[p] = h
		}
	}
	var want []string
	for i := range 12 {
		sku := skus[(i*3)%len(skus)] // not in partition order
		if _, err := s.WriteStock(ctx, store.StockWrite{Op: store.OpAdjust, SKU: sku, Warehouse: "w1", Qty: int64(i + 1)}); err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf("%s/%d", sku, i+1))
		waitNextMs()
	}
	// The feed reads every moved partition in one call when the store
	// can; every store here can, and should (one tail scan or round trip
	// per partition made a feed read as slow as the partitions were many).
	if _, ok := s.(ledger.ManyPartitionsReader); !ok {
		t.Errorf("%T does not read several partitions in one call (ledger.ManyPartitionsReader)", s)
	}
	// Both ways a store can be read: all moved partitions in one call
	// and one partition a call.
	for _, r := range []ledger.FeedReader{s, onePartitionAtATime{s}} {
		for _, size := range []int{1, 5, 1000} {
			checkFeedOrder(t, r, cur, size, want)
		}
	}
}

// onePartitionAtATime hides a store's ManyPartitionMovements, so ReadFeed
// reads each partition on its own.
type onePartitionAtATime struct{ ledger.FeedReader }

// checkFeedOrder reads the feed from cur in pages of size and checks it
// gives want ("sku/delta" each) in order.
func checkFeedOrder(t *testing.T, r ledger.FeedReader, cur ledger.Cursor, size int, want []string) {
	t.Helper()
	var got []string
	for c := cur; ; {
		page, next, err := ledger.ReadFeed(t.Context(), r, c, size)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, m := range page {
			got = append(got, fmt.Sprintf("%s/%d", m.SKU, m.DeltaOnHand))
		}
		if len(got) > len(want) {
			break // a feed that does not move on would never end
		}
		c = next
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%T, pages of %d: the feed reads\n%v\nthe writes were\n%v", r, size, got, want)
	}
}
