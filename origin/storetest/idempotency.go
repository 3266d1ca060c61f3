package storetest

import (
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

func testIdempotentReplay(t *testing.T, s store.Store) {
	mustSetStock(t, s, "idem", "w1", 10)
	mustSetStock(t, s, "idem", "w2", 10)
	first := reserveReq(s, "idem", "", 3, 10*time.Minute)
	first.IdempotencyKey = "order-1"
	res := mustReserve(t, s, first)
	checkRes(t, "first Reserve", res, first.ID, "idem", "w1", 3, store.StatusHeld, t0.Add(10*time.Minute))
	w := watchLog(t, s)

	// The origin gives every request a fresh ID and its own now; a repeat
	// still gets the first answer, with the first ID and expiry.
	again := first
	again.ID = newID(s, "idem")
	again.Now = t0.Add(5 * time.Second)
	got, err := s.Reserve(t.Context(), again)
	if err != nil {
		t.Fatalf("repeated Reserve: %v", err)
	}
	if !got.Replayed {
		t.Fatal("repeated Reserve: Replayed = false")
	}
	checkRes(t, "repeated Reserve", got, first.ID, "idem", "w1", 3, store.StatusHeld, t0.Add(10*time.Minute))
	// Retrying the very same request (same ID) is a repeat too.
	got, err = s.Reserve(t.Context(), first)
	if err != nil || !got.Replayed || got.ID != first.ID {
		t.Fatalf("retried Reserve = %+v, %v; want the first reservation, replayed", got, err)
	}
	w.unchanged("replayed reservations")
	checkView(t, "after replays", mustGetStock(t, s, "idem"), "idem", 3, map[string]wh{"w1": {10, 3}, "w2": {10, 0}})
	_, err = s.GetReservation(t.Context(), again.ID)
	wantErr(t, "GetReservation of the replayed request's own ID", err, store.ErrNotFound)

	// Keys are global, not scoped to the SKU: the same key on another SKU,
	// or for a stock write, is another request and is refused, writing
	// nothing.
	mustSetStock(t, s, "idem-other", "w1", 5)
	w = watchLog(t, s)
	other := reserveReq(s, "idem-other", "", 3, 10*time.Minute)
	other.IdempotencyKey = "order-1"
	_, err = s.Reserve(t.Context(), other)
	wantErr(t, "same key, other SKU", err, store.ErrIdempotencyMismatch)
	_, err = s.WriteStock(t.Context(), store.StockWrite{Op: store.OpAdjust, SKU: "idem-other", Warehouse: "w1", Qty: 1, IdempotencyKey: "order-1"})
	wantErr(t, "same key, a stock write", err, store.ErrIdempotencyMismatch)
	w.unchanged("a reused key")
	// And a stock write's key cannot be reused by a reservation.
	if _, err := s.WriteStock(t.Context(), store.StockWrite{Op: store.OpAdjust, SKU: "idem-other", Warehouse: "w1", Qty: 1, IdempotencyKey: "po-9"}); err != nil {
		t.Fatal(err)
	}
	w = watchLog(t, s)
	other.IdempotencyKey = "po-9"
	_, err = s.Reserve(t.Context(), other)
	wantErr(t, "a stock write's key on a reservation", err, store.ErrIdempotencyMismatch)
	w.unchanged("a stock write's key reused")

	// A replay after the hold was committed still names the same
	// reservation.
	if _, err := s.CommitReservation(t.Context(), first.ID, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	w = watchLog(t, s)
	again.ID = newID(s, "idem")
	got, err = s.Reserve(t.Context(), again)
	if err != nil || !got.Replayed || got.ID != first.ID {
		t.Fatalf("Reserve replayed after commit = %+v, %v; want reservation %s, replayed", got, err, first.ID)
	}
	w.unchanged("a replay after commit")
	checkView(t, "after commit and replay", mustGetStock(t, s, "idem"), "idem", 4, map[string]wh{"w1": {7, 0}, "w2": {10, 0}})
}

func testIdempotentInsufficientReplay(t *testing.T, s store.Store) {
	mustSetStock(t, s, "idem-short", "w1", 2)
	w := watchLog(t, s)
	r := reserveReq(s, "idem-short", "", 5, time.Minute)
	r.IdempotencyKey = "k-short"
	_, err := s.Reserve(t.Context(), r)
	wantErr(t, "first Reserve", err, store.ErrInsufficientStock)
	w.unchanged("an insufficient reservation")

	if _, err := s.AdjustStock(t.Context(), "idem-short", "w1", 10); err != nil {
		t.Fatal(err)
	}
	w.wrote(stockKey("idem-short"), 2)
	// The recorded outcome stands, although there is enough stock now.
	r.ID = newID(s, "idem-short")
	_, err = s.Reserve(t.Context(), r)
	wantErr(t, "repeated Reserve after restock", err, store.ErrInsufficientStock)
	w.unchanged("a replayed insufficient reservation")
	checkView(t, "after replay", mustGetStock(t, s, "idem-short"), "idem-short", 2, map[string]wh{"w1": {12, 0}})

	// A new key is a new request.
	fresh := reserveReq(s, "idem-short", "", 5, time.Minute)
	fresh.IdempotencyKey = "k-fresh"
	mustReserve(t, s, fresh)
	w.wrote(stockKey("idem-short"), 3)
}

func testIdempotencyMismatch(t *testing.T, s store.Store) {
	mustSetStock(t, s, "idem-mm", "w1", 10)
	mustSetStock(t, s, "idem-mm", "w2", 10)
	first := reserveReq(s, "idem-mm", "", 2, time.Minute)
	first.IdempotencyKey = "k1"
	mustReserve(t, s, first)
	short := reserveReq(s, "idem-mm", "", 100, time.Minute)
	short.IdempotencyKey = "k2"
	_, err := s.Reserve(t.Context(), short)
	wantErr(t, "Reserve of too much", err, store.ErrInsufficientStock)
	w := watchLog(t, s)

	for _, tc := range []struct {
		what string
		key  string
		wh   string
		qty  int64
	}{
		{"another qty", "k1", "", 3},
		{"another warehouse", "k1", "w2", 2},
		{"a key that recorded insufficient stock, another qty", "k2", "", 1},
	} {
		r := reserveReq(s, "idem-mm", tc.wh, tc.qty, time.Minute)
		r.IdempotencyKey = tc.key
		_, err := s.Reserve(t.Context(), r)
		wantErr(t, "same key, "+tc.what, err, store.ErrIdempotencyMismatch)
	}
	w.unchanged("mismatched idempotency keys")
	checkView(t, "after mismatches", mustGetStock(t, s, "idem-mm"), "idem-mm", 3, map[string]wh{"w1": {10, 2}, "w2": {10, 0}})
}
