package embedded_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/clock"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/origin/store"
)

// snapshot is everything a store shows, for comparing before and after a
// reopen.
type snapshot struct {
	links   map[string]store.Link
	stock   map[string]store.StockView
	res     map[string]store.Reservation
	heads   []uint64
	changes map[int][]change.Change
}

func takeSnapshot(t *testing.T, s store.Store, codes, skus, ids []string) snapshot {
	t.Helper()
	ctx := t.Context()
	sn := snapshot{links: map[string]store.Link{}, stock: map[string]store.StockView{}, res: map[string]store.Reservation{}, changes: map[int][]change.Change{}}
	for _, c := range codes {
		l, err := s.GetLink(ctx, c)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		sn.links[c] = l
	}
	for _, sku := range skus {
		v, err := s.GetStock(ctx, sku)
		if err != nil {
			t.Fatal(err)
		}
		sn.stock[sku] = v
	}
	for _, id := range ids {
		r, err := s.GetReservation(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		sn.res[id] = r
	}
	var err error
	if sn.heads, err = s.Heads(ctx); err != nil {
		t.Fatal(err)
	}
	for p := range keys.DefaultPartitions {
		page, err := s.Changes(ctx, p, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		sn.changes[p] = page.Changes
	}
	return sn
}

// TestReopenDurability writes links, stock and holds, closes, reopens the
// same directory and finds everything acknowledged, with versions, the
// change log, idempotency and hold expiry carrying on where they were.
func TestReopenDurability(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	clk := clock.NewFake(t0)
	cfg := embedded.DefaultConfig(dir)
	cfg.Clock = clk

	s, err := embedded.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	exp := t0.Add(48 * time.Hour)
	for _, c := range []string{"keep", "gone", "plain"} {
		if _, err := s.CreateLink(ctx, store.NewLink{Code: c, URL: "https://example.com/" + c, Redirect: 301, ExpiresAt: &exp, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	url := "https://example.com/keep2"
	if _, err := s.UpdateLink(ctx, "keep", store.LinkPatch{URL: &url, ClearExpiry: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteLink(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddClicks(ctx, map[string]int64{"keep": 5, "plain": 2}); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"w1", "w2"} {
		if _, err := s.SetStock(ctx, "durable", w, 10); err != nil {
			t.Fatal(err)
		}
	}
	short := store.ReserveRequest{ID: keys.NewReservationID(keys.DefaultSpace().Partition(keys.KindStock, "durable")), SKU: "durable", Warehouse: "w1", Qty: 3, Now: t0, TTL: time.Minute}
	long := store.ReserveRequest{ID: keys.NewReservationID(keys.DefaultSpace().Partition(keys.KindStock, "durable")), SKU: "durable", Qty: 2, Now: t0, TTL: time.Hour, IdempotencyKey: "order-7"}
	sold := store.ReserveRequest{ID: keys.NewReservationID(keys.DefaultSpace().Partition(keys.KindStock, "durable")), SKU: "durable", Warehouse: "w2", Qty: 4, Now: t0, TTL: time.Hour}
	for _, r := range []store.ReserveRequest{short, long, sold} {
		if _, err := s.Reserve(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CommitReservation(ctx, sold.ID, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	codes, skus, ids := []string{"keep", "gone", "plain", "never"}, []string{"durable"}, []string{short.ID, long.ID, sold.ID}
	before := takeSnapshot(t, s, codes, skus, ids)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := open(t, cfg)
	after := takeSnapshot(t, s2, codes, skus, ids)
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("reopened store differs:\nbefore %+v\nafter  %+v", before, after)
	}
	if l := after.links["keep"]; l.Version != 2 || l.Clicks != 5 || l.URL != url || l.ExpiresAt != nil {
		t.Fatalf("keep after reopen = %+v", l)
	}
	if l := after.links["gone"]; l.Version != 2 || l.URL != "" {
		t.Fatalf("tombstone after reopen = %+v", l)
	}
	// short holds 3 in w1; long took w2 (the most available); sold 4 in w2.
	if v := after.stock["durable"]; v.Version != 6 || v.Warehouses["w1"] != (store.WarehouseStock{OnHand: 10, Reserved: 3, Available: 7}) ||
		v.Warehouses["w2"] != (store.WarehouseStock{OnHand: 6, Reserved: 2, Available: 4}) {
		t.Fatalf("stock after reopen = %+v", v)
	}

	// Versions and the change log continue.
	up, err := s2.UpdateLink(ctx, "keep", store.LinkPatch{URL: &url})
	if err != nil || up.Version != 3 {
		t.Fatalf("update after reopen: %+v, %v", up, err)
	}
	p := keys.DefaultSpace().Partition(keys.KindLink, "keep")
	page, err := s2.Changes(ctx, p, before.heads[p], 10)
	if err != nil || len(page.Changes) != 1 || page.Changes[0].Seq != before.heads[p]+1 || page.Changes[0].Version != 3 {
		t.Fatalf("change after reopen: %+v, %v", page, err)
	}
	if l, err := s2.CreateLink(ctx, store.NewLink{Code: "gone", URL: "https://example.com/back", Redirect: 302, CreatedAt: t0}); err != nil || l.Version != 3 {
		t.Fatalf("re-create after reopen: %+v, %v", l, err)
	}

	// Idempotency records survive.
	again := long
	again.ID = keys.NewReservationID(keys.DefaultSpace().Partition(keys.KindStock, "durable"))
	if r, err := s2.Reserve(ctx, again); err != nil || !r.Replayed || r.ID != long.ID {
		t.Fatalf("replay after reopen: %+v, %v", r, err)
	}

	// Holds still expire: the short one is due, the long one is not.
	if n, err := s2.ExpireHolds(ctx, t0.Add(2*time.Minute), 100); err != nil || n != 1 {
		t.Fatalf("ExpireHolds after reopen = %d, %v; want 1", n, err)
	}
	if r, _ := s2.GetReservation(ctx, short.ID); r.Status != store.StatusExpired {
		t.Fatalf("short hold after expiry: %+v", r)
	}
	if r, _ := s2.GetReservation(ctx, long.ID); r.Status != store.StatusHeld {
		t.Fatalf("long hold after expiry: %+v", r)
	}
	if v, _ := s2.GetStock(ctx, "durable"); v.Version != 7 || v.Warehouses["w1"].Reserved != 0 || v.Warehouses["w2"].Reserved != 2 {
		t.Fatalf("stock after expiry: %+v", v)
	}
}
