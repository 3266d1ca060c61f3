package redisstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/redisstore"
	"github.com/shortstock/shortstock/origin/store"
)

var t0 = time.Date(2030, 1, 1, 12, 0, 0, 123456789, time.UTC)

func TestLinkLifecycle(t *testing.T) {
	backends(t, func(t *testing.T, open func(testing.TB) *redisstore.Store) {
		s := open(t)
		ctx := ctxT(t)
		exp := t0.Add(time.Hour)
		l, err := s.CreateLink(ctx, store.NewLink{Code: "abc", URL: "https://example.com/a", Redirect: 302, ExpiresAt: &exp, CreatedAt: t0})
		if err != nil || l.Version != 1 {
			t.Fatalf("create: %+v %v", l, err)
		}
		if _, err := s.CreateLink(ctx, store.NewLink{Code: "abc", URL: "https://example.com/b", Redirect: 302, CreatedAt: t0}); !errors.Is(err, store.ErrCodeTaken) {
			t.Fatalf("second create: %v", err)
		}
		got, err := s.GetLink(ctx, "abc")
		if err != nil || got.URL != "https://example.com/a" || !got.CreatedAt.Equal(t0) || got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) {
			t.Fatalf("get: %+v %v", got, err)
		}
		if err := s.AddClicks(ctx, map[string]int64{"abc": 5, "nope": 3}); err != nil {
			t.Fatal(err)
		}
		url := "https://example.com/c"
		up, err := s.UpdateLink(ctx, "abc", store.LinkPatch{URL: &url, ClearExpiry: true})
		if err != nil || up.Version != 2 || up.URL != url || up.ExpiresAt != nil || up.Clicks != 5 {
			t.Fatalf("update: %+v %v", up, err)
		}
		v, err := s.DeleteLink(ctx, "abc")
		if err != nil || v != 3 {
			t.Fatalf("delete: %d %v", v, err)
		}
		gone, err := s.GetLink(ctx, "abc")
		if !errors.Is(err, store.ErrNotFound) || gone.Version != 3 || gone.Code != "abc" {
			t.Fatalf("get deleted: %+v %v", gone, err)
		}
		if err := s.AddClicks(ctx, map[string]int64{"abc": 1}); err != nil {
			t.Fatal(err)
		}
		again, err := s.CreateLink(ctx, store.NewLink{Code: "abc", URL: "https://example.com/d", Redirect: 301, CreatedAt: t0})
		if err != nil || again.Version != 4 {
			t.Fatalf("re-create: %+v %v", again, err)
		}
		if got, _ := s.GetLink(ctx, "abc"); got.Clicks != 0 {
			t.Fatalf("re-created link has %d clicks", got.Clicks)
		}
		p := keys.DefaultSpace().Partition(keys.KindLink, "abc")
		page, err := s.Changes(ctx, p, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Changes) != 4 || page.Head != 4 || page.First != 1 {
			t.Fatalf("changes: %+v", page)
		}
		for i, c := range page.Changes {
			if c.Seq != uint64(i+1) || c.Version != uint64(i+1) || c.Key != "l:abc" {
				t.Fatalf("change %d: %+v", i, c)
			}
		}
	})
}

func TestStockAndReservations(t *testing.T) {
	backends(t, func(t *testing.T, open func(testing.TB) *redisstore.Store) {
		s := open(t)
		ctx := ctxT(t)
		if _, err := s.GetStock(ctx, "SKU-1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown sku: %v", err)
		}
		if _, err := s.SetStock(ctx, "SKU-1", "b", 5); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetStock(ctx, "SKU-1", "a", 5); err != nil {
			t.Fatal(err)
		}
		v, err := s.AdjustStock(ctx, "SKU-1", "c", 2)
		if err != nil || v.Available != 12 || v.Version != 3 {
			t.Fatalf("adjust: %+v %v", v, err)
		}
		id := keys.NewReservationID(keys.DefaultSpace().Partition(keys.KindStock, "SKU-1"))
		res, err := s.Reserve(ctx, store.ReserveRequest{ID: id, SKU: "SKU-1", Qty: 3, Now: t0, TTL: time.Minute, IdempotencyKey: "k:1"})
		if err != nil || res.Warehouse != "a" || res.Status != store.StatusHeld || !res.ExpiresAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("reserve: %+v %v", res, err)
		}
		again, err := s.Reserve(ctx, store.ReserveRequest{ID: keys.NewReservationID(keys.DefaultSpace().Partition(keys.KindStock, "SKU-1")), SKU: "SKU-1", Qty: 3, Now: t0, TTL: time.Minute, IdempotencyKey: "k:1"})
		if err != nil || !again.Replayed || again.ID != id {
			t.Fatalf("replay: %+v %v", again, err)
		}
		if _, err := s.Reserve(ctx, store.ReserveRequest{SKU: "SKU-1", Qty: 4, Now: t0, TTL: time.Minute, IdempotencyKey: "k:1"}); !errors.Is(err, store.ErrIdempotencyMismatch) {
			t.Fatalf("mismatch: %v", err)
		}
		if _, err := s.Reserve(ctx, store.ReserveRequest{SKU: "SKU-1", Qty: 6, Now: t0, TTL: time.Minute, IdempotencyKey: "k2"}); !errors.Is(err, store.ErrInsufficientStock) {
			t.Fatalf("too much: %v", err)
		}
		if _, err := s.SetStock(ctx, "SKU-1", "b", 100); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Reserve(ctx, store.ReserveRequest{SKU: "SKU-1", Qty: 6, Now: t0, TTL: time.Minute, IdempotencyKey: "k2"}); !errors.Is(err, store.ErrInsufficientStock) {
			t.Fatalf("replayed insufficient: %v", err)
		}
		if _, err := s.Reserve(ctx, store.ReserveRequest{SKU: "SKU-1", Warehouse: "zz", Qty: 1, Now: t0}); !errors.Is(err, store.ErrInsufficientStock) {
			t.Fatalf("unknown warehouse: %v", err)
		}
		if _, err := s.SetStock(ctx, "SKU-1", "a", 2); !errors.Is(err, store.ErrBelowReserved) {
			t.Fatalf("below reserved: %v", err)
		}
		c, err := s.CommitReservation(ctx, id, t0.Add(time.Second))
		if err != nil || c.Status != store.StatusCommitted {
			t.Fatalf("commit: %+v %v", c, err)
		}
		view, _ := s.GetStock(ctx, "SKU-1")
		if w := view.Warehouses["a"]; w.OnHand != 2 || w.Reserved != 0 {
			t.Fatalf("after commit: %+v", view)
		}
		if _, err := s.ReleaseReservation(ctx, id); !errors.Is(err, store.ErrNotHeld) {
			t.Fatalf("release committed: %v", err)
		}
		r2, err := s.Reserve(ctx, store.ReserveRequest{SKU: "SKU-1", Qty: 1, Now: t0, TTL: time.Minute})
		if err != nil || r2.Warehouse != "b" {
			t.Fatalf("reserve 2: %+v %v", r2, err)
		}
		if _, err := s.CommitReservation(ctx, r2.ID, t0.Add(time.Minute)); !errors.Is(err, store.ErrReservationExpired) {
			t.Fatalf("late commit: %v", err)
		}
		got, err := s.GetReservation(ctx, r2.ID)
		if err != nil || got.Status != store.StatusExpired {
			t.Fatalf("after late commit: %+v %v", got, err)
		}
		r3, err := s.Reserve(ctx, store.ReserveRequest{SKU: "SKU-1", Qty: 1, Now: t0, TTL: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := s.ExpireHolds(ctx, t0.Add(time.Minute-time.Nanosecond), 10); err != nil || n != 0 {
			t.Fatalf("early expire: %d %v", n, err)
		}
		if n, err := s.ExpireHolds(ctx, t0.Add(time.Minute), 10); err != nil || n != 1 {
			t.Fatalf("expire: %d %v", n, err)
		}
		if got, _ := s.GetReservation(ctx, r3.ID); got.Status != store.StatusExpired {
			t.Fatalf("expired: %+v", got)
		}
		view, _ = s.GetStock(ctx, "SKU-1")
		if view.Available != 2+100+2 {
			t.Fatalf("final: %+v", view)
		}
		heads, err := s.Heads(ctx)
		if err != nil || len(heads) != keys.DefaultPartitions {
			t.Fatal(heads, err)
		}
		if h := heads[keys.DefaultSpace().Partition(keys.KindStock, "SKU-1")]; h != view.Version {
			t.Fatalf("head %d, version %d (one SKU in the partition)", h, view.Version)
		}
	})
}
