package storetest

import (
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

func testReserveExplicitWarehouse(t *testing.T, s store.Store) {
	mustSetStock(t, s, "rx", "w1", 10)
	mustSetStock(t, s, "rx", "w2", 5)
	w := watchLog(t, s)

	req := reserveReq(s, "rx", "w2", 4, 10*time.Minute)
	req.Now = t0.In(elsewhere)
	res := mustReserve(t, s, req)
	checkRes(t, "Reserve", res, req.ID, "rx", "w2", 4, store.StatusHeld, t0.Add(10*time.Minute))
	if !sameTime(res.CreatedAt, t0) {
		t.Fatalf("created_at = %s, want %s in UTC", fmtTime(&res.CreatedAt), fmtTime(&t0))
	}
	w.wrote(stockKey("rx"), 3)
	checkView(t, "after Reserve", mustGetStock(t, s, "rx"), "rx", 3, map[string]wh{"w1": {10, 0}, "w2": {5, 4}})
	checkRes(t, "GetReservation", mustGetRes(t, s, req.ID), req.ID, "rx", "w2", 4, store.StatusHeld, t0.Add(10*time.Minute))

	// w2 has 1 left: 2 from w2 fails even though w1 has plenty.
	_, err := s.Reserve(t.Context(), reserveReq(s, "rx", "w2", 2, time.Minute))
	wantErr(t, "Reserve more than the warehouse has", err, store.ErrInsufficientStock)
	_, err = s.Reserve(t.Context(), reserveReq(s, "rx", "w-unknown", 1, time.Minute))
	wantErr(t, "Reserve from an unknown warehouse of a known SKU", err, store.ErrInsufficientStock)
	_, err = s.Reserve(t.Context(), reserveReq(s, "rx-nosuch", "w1", 1, time.Minute))
	wantErr(t, "Reserve of an unknown SKU", err, store.ErrNotFound)
	_, err = s.Reserve(t.Context(), reserveReq(s, "rx-nosuch", "", 1, time.Minute))
	wantErr(t, "Reserve of an unknown SKU without warehouse", err, store.ErrNotFound)
	w.unchanged("refused reservations")
	checkView(t, "after refused reservations", mustGetStock(t, s, "rx"), "rx", 3, map[string]wh{"w1": {10, 0}, "w2": {5, 4}})

	// The last unit, and no TTL: the default applies.
	last := reserveReq(s, "rx", "w2", 1, 0)
	res = mustReserve(t, s, last)
	checkRes(t, "Reserve without TTL", res, last.ID, "rx", "w2", 1, store.StatusHeld, t0.Add(store.DefaultReservationTTL))
	w.wrote(stockKey("rx"), 4)
	checkView(t, "warehouse sold out", mustGetStock(t, s, "rx"), "rx", 4, map[string]wh{"w1": {10, 0}, "w2": {5, 5}})
}

func testReservePicksWarehouse(t *testing.T, s store.Store) {
	mustSetStock(t, s, "pick", "w1", 5)
	mustSetStock(t, s, "pick", "w3", 8)
	mustSetStock(t, s, "pick", "w2", 8)
	w := watchLog(t, s)
	version := uint64(3)
	pick := func(qty int64, want string, stock map[string]wh) {
		t.Helper()
		r := reserveReq(s, "pick", "", qty, time.Hour)
		res := mustReserve(t, s, r)
		version++
		checkRes(t, "Reserve without warehouse", res, r.ID, "pick", want, qty, store.StatusHeld, t0.Add(time.Hour))
		w.wrote(stockKey("pick"), version)
		checkView(t, "after Reserve", mustGetStock(t, s, "pick"), "pick", version, stock)
	}
	// The most available wins; a tie goes to the smallest name.
	pick(3, "w2", map[string]wh{"w1": {5, 0}, "w2": {8, 3}, "w3": {8, 0}})
	pick(3, "w3", map[string]wh{"w1": {5, 0}, "w2": {8, 3}, "w3": {8, 3}})
	pick(5, "w1", map[string]wh{"w1": {5, 5}, "w2": {8, 3}, "w3": {8, 3}})
	// 10 available in total, but no single warehouse has 6.
	_, err := s.Reserve(t.Context(), reserveReq(s, "pick", "", 6, time.Hour))
	wantErr(t, "Reserve that no single warehouse can hold", err, store.ErrInsufficientStock)
	w.unchanged("a refused reservation")
	pick(5, "w2", map[string]wh{"w1": {5, 5}, "w2": {8, 8}, "w3": {8, 3}})
	pick(5, "w3", map[string]wh{"w1": {5, 5}, "w2": {8, 8}, "w3": {8, 8}})
	_, err = s.Reserve(t.Context(), reserveReq(s, "pick", "", 1, time.Hour))
	wantErr(t, "Reserve of a sold-out SKU", err, store.ErrInsufficientStock)
	w.unchanged("a refused reservation")
}

func testReserveInvalid(t *testing.T, s store.Store) {
	mustSetStock(t, s, "inv", "w1", 10)
	w := watchLog(t, s)
	for _, qty := range []int64{0, -1} {
		_, err := s.Reserve(t.Context(), reserveReq(s, "inv", "w1", qty, time.Hour))
		wantErr(t, "Reserve of a non-positive quantity", err, store.ErrInvalid)
	}
	w.unchanged("refused reservations")
	checkView(t, "after refused reservations", mustGetStock(t, s, "inv"), "inv", 1, map[string]wh{"w1": {10, 0}})
}

func testReservationUnknown(t *testing.T, s store.Store) {
	mustSetStock(t, s, "unk", "w1", 10)
	w := watchLog(t, s)
	for _, id := range []string{newID(s, "unk"), keys.NewReservationID(0), "not-a-reservation-id"} {
		_, err := s.GetReservation(t.Context(), id)
		wantErr(t, "GetReservation("+id+")", err, store.ErrNotFound)
		_, err = s.CommitReservation(t.Context(), id, t0)
		wantErr(t, "CommitReservation("+id+")", err, store.ErrNotFound)
		_, err = s.ReleaseReservation(t.Context(), id)
		wantErr(t, "ReleaseReservation("+id+")", err, store.ErrNotFound)
	}
	w.unchanged("operations on unknown reservations")
}

func testReservationCommit(t *testing.T, s store.Store) {
	mustSetStock(t, s, "rc", "w1", 10)
	r := reserveReq(s, "rc", "w1", 4, 10*time.Minute)
	mustReserve(t, s, r)
	w := watchLog(t, s)
	exp := t0.Add(10 * time.Minute)

	c, err := s.CommitReservation(t.Context(), r.ID, t0.Add(time.Minute))
	if err != nil {
		t.Fatalf("CommitReservation: %v", err)
	}
	checkRes(t, "CommitReservation", c, r.ID, "rc", "w1", 4, store.StatusCommitted, exp)
	w.wrote(stockKey("rc"), 3)
	// A sale: on hand and reserved both fall by the quantity.
	checkView(t, "after commit", mustGetStock(t, s, "rc"), "rc", 3, map[string]wh{"w1": {6, 0}})

	// Committing again is answered with the same committed reservation,
	// even past its expiry: the sale happened.
	for _, now := range []time.Time{t0.Add(time.Minute), t0.Add(time.Hour)} {
		c, err = s.CommitReservation(t.Context(), r.ID, now)
		if err != nil {
			t.Fatalf("second CommitReservation: %v", err)
		}
		checkRes(t, "second CommitReservation", c, r.ID, "rc", "w1", 4, store.StatusCommitted, exp)
	}
	_, err = s.ReleaseReservation(t.Context(), r.ID)
	wantErr(t, "ReleaseReservation of a committed reservation", err, store.ErrNotHeld)
	w.unchanged("repeated commit and refused release")
	checkView(t, "after repeated commit", mustGetStock(t, s, "rc"), "rc", 3, map[string]wh{"w1": {6, 0}})
	checkRes(t, "GetReservation", mustGetRes(t, s, r.ID), r.ID, "rc", "w1", 4, store.StatusCommitted, exp)
}

func testReservationRelease(t *testing.T, s store.Store) {
	mustSetStock(t, s, "rl", "w1", 10)
	r := reserveReq(s, "rl", "w1", 4, 10*time.Minute)
	mustReserve(t, s, r)
	w := watchLog(t, s)
	exp := t0.Add(10 * time.Minute)

	rel, err := s.ReleaseReservation(t.Context(), r.ID)
	if err != nil {
		t.Fatalf("ReleaseReservation: %v", err)
	}
	checkRes(t, "ReleaseReservation", rel, r.ID, "rl", "w1", 4, store.StatusReleased, exp)
	w.wrote(stockKey("rl"), 3)
	checkView(t, "after release", mustGetStock(t, s, "rl"), "rl", 3, map[string]wh{"w1": {10, 0}})

	rel, err = s.ReleaseReservation(t.Context(), r.ID)
	if err != nil {
		t.Fatalf("second ReleaseReservation: %v", err)
	}
	checkRes(t, "second ReleaseReservation", rel, r.ID, "rl", "w1", 4, store.StatusReleased, exp)
	_, err = s.CommitReservation(t.Context(), r.ID, t0.Add(time.Minute))
	wantErr(t, "CommitReservation of a released reservation", err, store.ErrNotHeld)
	w.unchanged("repeated release and refused commit")
	checkView(t, "after repeated release", mustGetStock(t, s, "rl"), "rl", 3, map[string]wh{"w1": {10, 0}})
	checkRes(t, "GetReservation", mustGetRes(t, s, r.ID), r.ID, "rl", "w1", 4, store.StatusReleased, exp)
}

func testCommitPastExpiry(t *testing.T, s store.Store) {
	mustSetStock(t, s, "ce", "w1", 10)
	a := reserveReq(s, "ce", "w1", 3, 30*time.Second)
	b := reserveReq(s, "ce", "w1", 2, 30*time.Second)
	mustReserve(t, s, a)
	mustReserve(t, s, b)
	w := watchLog(t, s)
	exp := t0.Add(30 * time.Second)

	// One second before expiry a commit still sells.
	if c, err := s.CommitReservation(t.Context(), b.ID, exp.Add(-time.Second)); err != nil || c.Status != store.StatusCommitted {
		t.Fatalf("commit before expiry: %+v, %v", c, err)
	}
	w.wrote(stockKey("ce"), 4)
	checkView(t, "after commit", mustGetStock(t, s, "ce"), "ce", 4, map[string]wh{"w1": {8, 3}})

	// At the expiry instant the hold is over: the commit fails and ends the
	// hold as expired, returning the stock, in one write.
	_, err := s.CommitReservation(t.Context(), a.ID, exp)
	wantErr(t, "commit at expiry", err, store.ErrReservationExpired)
	w.wrote(stockKey("ce"), 5)
	checkRes(t, "GetReservation after late commit", mustGetRes(t, s, a.ID), a.ID, "ce", "w1", 3, store.StatusExpired, exp)
	checkView(t, "after late commit", mustGetStock(t, s, "ce"), "ce", 5, map[string]wh{"w1": {8, 0}})

	_, err = s.CommitReservation(t.Context(), a.ID, exp.Add(time.Second))
	wantErr(t, "commit of an expired reservation", err, store.ErrNotHeld)
	rel, err := s.ReleaseReservation(t.Context(), a.ID)
	if err != nil || rel.Status != store.StatusExpired {
		t.Fatalf("release of an expired reservation = %+v, %v; want it unchanged", rel, err)
	}
	if n, err := s.ExpireHolds(t.Context(), exp.Add(time.Hour), 100); err != nil || n != 0 {
		t.Fatalf("ExpireHolds after the late commit = %d, %v; want 0", n, err)
	}
	w.unchanged("operations on an expired reservation")
	checkView(t, "at the end", mustGetStock(t, s, "ce"), "ce", 5, map[string]wh{"w1": {8, 0}})
}

// testReservationExtend: extending a hold moves its expiry (and the sweep
// honours the new one); it never shortens; a hold past its expiry or not
// held cannot be extended; stock and its version do not change.
func testReservationExtend(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustSetStock(t, s, "EXT", "w1", 10)
	r := mustReserve(t, s, reserveReq(s, "EXT", "w1", 3, time.Minute)) // expires t0+1m
	lw := watchLog(t, s)
	got, err := s.ExtendReservation(ctx, r.ID, t0.Add(30*time.Second), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	checkRes(t, "extended", got, r.ID, "EXT", "w1", 3, store.StatusHeld, t0.Add(330*time.Second))
	checkRes(t, "read back", mustGetRes(t, s, r.ID), r.ID, "EXT", "w1", 3, store.StatusHeld, t0.Add(330*time.Second))
	// A shorter extension leaves it alone.
	if got, err = s.ExtendReservation(ctx, r.ID, t0.Add(40*time.Second), time.Second); err != nil {
		t.Fatal(err)
	}
	checkRes(t, "not shortened", got, r.ID, "EXT", "w1", 3, store.StatusHeld, t0.Add(330*time.Second))
	lw.unchanged("extensions")
	// The sweep uses the new expiry: not due at the old one, due at the new.
	if n, err := s.ExpireHolds(ctx, t0.Add(2*time.Minute), 10); err != nil || n != 0 {
		t.Fatalf("sweep at the old expiry expired %d (%v)", n, err)
	}
	_, err = s.ExtendReservation(ctx, r.ID, t0.Add(330*time.Second), time.Minute)
	wantErr(t, "extend at expires_at", err, store.ErrReservationExpired)
	if n, err := s.ExpireHolds(ctx, t0.Add(330*time.Second), 10); err != nil || n != 1 {
		t.Fatalf("sweep at the new expiry expired %d (%v)", n, err)
	}
	_, err = s.ExtendReservation(ctx, r.ID, t0, time.Minute)
	wantErr(t, "extend an expired hold", err, store.ErrNotHeld)
	rel := mustReserve(t, s, reserveReq(s, "EXT", "w1", 1, time.Minute))
	if _, err := s.ReleaseReservation(ctx, rel.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.ExtendReservation(ctx, rel.ID, t0, time.Minute)
	wantErr(t, "extend a released hold", err, store.ErrNotHeld)
	_, err = s.ExtendReservation(ctx, newID(s, "EXT"), t0, time.Minute)
	wantErr(t, "extend an unknown id", err, store.ErrNotFound)
	checkReplay(t, s, "EXT", "after extensions")
}
