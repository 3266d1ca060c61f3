package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

func testExpireHolds(t *testing.T, s store.Store) {
	mustSetStock(t, s, "ex-1", "w1", 100)
	mustSetStock(t, s, "ex-2", "w1", 100)
	a := reserveReq(s, "ex-1", "w1", 1, 10*time.Second)
	b := reserveReq(s, "ex-2", "w1", 2, 20*time.Second)
	c := reserveReq(s, "ex-1", "w1", 3, 30*time.Second)
	d := reserveReq(s, "ex-1", "w1", 4, 10*time.Second)
	e := reserveReq(s, "ex-2", "w1", 5, 10*time.Second)
	for _, r := range []store.ReserveRequest{a, b, c, d, e} {
		mustReserve(t, s, r)
	}
	if _, err := s.CommitReservation(t.Context(), d.ID, t0.Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReleaseReservation(t.Context(), e.ID); err != nil {
		t.Fatal(err)
	}
	// ex-1: set, a, c, d, commit d = 5; ex-2: set, b, e, release e = 4.
	checkView(t, "before expiry", mustGetStock(t, s, "ex-1"), "ex-1", 5, map[string]wh{"w1": {96, 4}})
	checkView(t, "before expiry", mustGetStock(t, s, "ex-2"), "ex-2", 4, map[string]wh{"w1": {100, 2}})
	h0 := sum(mustHeads(t, s))
	expire := func(now time.Time, want int) {
		t.Helper()
		n, err := s.ExpireHolds(t.Context(), now, 100)
		if err != nil || n != want {
			t.Fatalf("ExpireHolds(t0+%v) = %d, %v; want %d", now.Sub(t0), n, err, want)
		}
	}

	expire(t0.Add(9*time.Second), 0)
	if h := sum(mustHeads(t, s)); h != h0 {
		t.Fatalf("ExpireHolds with nothing due appended %d changes", h-h0)
	}
	// Due means at or before now: b expires exactly at t0+20s.
	expire(t0.Add(20*time.Second), 2)
	if h := sum(mustHeads(t, s)); h != h0+2 {
		t.Fatalf("expiring 2 holds appended %d changes, want 2", h-h0)
	}
	checkRes(t, "a", mustGetRes(t, s, a.ID), a.ID, "ex-1", "w1", 1, store.StatusExpired, t0.Add(10*time.Second))
	checkRes(t, "b", mustGetRes(t, s, b.ID), b.ID, "ex-2", "w1", 2, store.StatusExpired, t0.Add(20*time.Second))
	checkRes(t, "c", mustGetRes(t, s, c.ID), c.ID, "ex-1", "w1", 3, store.StatusHeld, t0.Add(30*time.Second))
	checkRes(t, "d", mustGetRes(t, s, d.ID), d.ID, "ex-1", "w1", 4, store.StatusCommitted, t0.Add(10*time.Second))
	checkRes(t, "e", mustGetRes(t, s, e.ID), e.ID, "ex-2", "w1", 5, store.StatusReleased, t0.Add(10*time.Second))
	checkView(t, "after expiry", mustGetStock(t, s, "ex-1"), "ex-1", 6, map[string]wh{"w1": {96, 3}})
	checkView(t, "after expiry", mustGetStock(t, s, "ex-2"), "ex-2", 5, map[string]wh{"w1": {100, 0}})

	expire(t0.Add(20*time.Second), 0)
	expire(t0.Add(time.Hour), 1)
	checkRes(t, "c", mustGetRes(t, s, c.ID), c.ID, "ex-1", "w1", 3, store.StatusExpired, t0.Add(30*time.Second))
	checkView(t, "after all expired", mustGetStock(t, s, "ex-1"), "ex-1", 7, map[string]wh{"w1": {96, 0}})
	expire(t0.Add(24*time.Hour), 0)
	if h := sum(mustHeads(t, s)); h != h0+3 {
		t.Fatalf("expiring 3 holds appended %d changes, want 3", h-h0)
	}
}

func testExpireHoldsMax(t *testing.T, s store.Store) {
	mustSetStock(t, s, "em", "w1", 100)
	for range 5 {
		mustReserve(t, s, reserveReq(s, "em", "w1", 1, time.Minute))
	}
	for i, want := range []int{2, 2, 1, 0} {
		n, err := s.ExpireHolds(t.Context(), t0.Add(time.Hour), 2)
		if err != nil || n != want {
			t.Fatalf("ExpireHolds(max 2) call %d = %d, %v; want %d", i+1, n, err, want)
		}
	}
	checkView(t, "after expiry", mustGetStock(t, s, "em"), "em", 11, map[string]wh{"w1": {100, 0}})
}

// testExpireHoldsConcurrent runs ExpireHolds from several goroutines, as
// several origins do on one store: every hold must expire exactly once.
func testExpireHoldsConcurrent(t *testing.T, s store.Store) {
	const (
		skus    = 4
		due     = 20 // per SKU
		notDue  = 2  // per SKU
		workers = 8
	)
	var ids []string
	held := map[string]int64{}
	for i := range skus {
		sku := fmt.Sprintf("ec-%d", i)
		mustSetStock(t, s, sku, "w1", 1000)
		mustSetStock(t, s, sku, "w2", 1000)
		for j := range due + notDue {
			ttl := time.Minute
			if j >= due {
				ttl = 2 * time.Hour
			}
			r := reserveReq(s, sku, []string{"w1", "w2"}[j%2], int64(1+j%3), ttl)
			mustReserve(t, s, r)
			if j < due {
				ids = append(ids, r.ID)
			} else {
				held[sku+"/"+r.Warehouse] += r.Qty
			}
		}
	}
	h0 := sum(mustHeads(t, s))

	var total atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				n, err := s.ExpireHolds(t.Context(), t0.Add(10*time.Minute), 7)
				if err != nil {
					t.Errorf("ExpireHolds: %v", err)
					return
				}
				total.Add(int64(n))
				if n == 0 {
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	if got := total.Load(); got != skus*due {
		t.Fatalf("concurrent ExpireHolds expired %d holds, want %d (each exactly once)", got, skus*due)
	}
	if n, err := s.ExpireHolds(t.Context(), t0.Add(10*time.Minute), 1000); err != nil || n != 0 {
		t.Fatalf("ExpireHolds after the workers = %d, %v; want 0", n, err)
	}
	if h := sum(mustHeads(t, s)); h != h0+skus*due {
		t.Fatalf("%d expiries appended %d changes", skus*due, h-h0)
	}
	for _, id := range ids {
		if r := mustGetRes(t, s, id); r.Status != store.StatusExpired {
			t.Fatalf("reservation %s is %s, want expired", id, r.Status)
		}
	}
	for i := range skus {
		sku := fmt.Sprintf("ec-%d", i)
		checkView(t, "after concurrent expiry", mustGetStock(t, s, sku), sku, 2+(due+notDue)+due, // sets, reserves, expiries
			map[string]wh{"w1": {1000, held[sku+"/w1"]}, "w2": {1000, held[sku+"/w2"]}})
	}
}
