package redisstore_test

import (
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// A change-log entry holds "<key> <version> <at>" in one field (fewer
// arguments for Redis to propagate); entries written before, as fields k,
// v and t, still read (Changes) and age out (TrimChanges) as they did.
func TestChangeLogReadsBothEntryLayouts(t *testing.T) {
	s := openStandalone(t)
	ctx := t.Context()
	const sku = "CLOG-1"
	key := keys.Key(keys.KindStock, sku)
	p := keys.DefaultSpace().Partition(keys.KindStock, sku)
	before := time.Now().UnixMilli()
	view, err := s.WriteStock(ctx, store.StockWrite{Op: store.OpSet, SKU: sku, Warehouse: "w1", Qty: 5})
	if err != nil {
		t.Fatal(err)
	}
	old := time.UnixMilli(1_700_000_000_000)
	legacy, err := s.AppendLegacyChange(ctx, key, view.Version+10, old)
	if err != nil {
		t.Fatal(err)
	}
	purge, err := s.AppendPurge(ctx, key, change.PurgeSoft)
	if err != nil {
		t.Fatal(err)
	}
	page, err := s.Changes(ctx, p, 0, 10)
	if err != nil || len(page.Changes) != 3 {
		t.Fatalf("Changes = %+v, %v; want 3", page, err)
	}
	w, l, pu := page.Changes[0], page.Changes[1], page.Changes[2]
	if w.Key != key || w.Version != view.Version || w.AtUnixMs < before || w.AtUnixMs > time.Now().UnixMilli() || w.Purge != 0 {
		t.Fatalf("packed change read as %+v (write gave version %d)", w, view.Version)
	}
	if l.Key != key || l.Seq != legacy || l.Version != view.Version+10 || l.AtUnixMs != old.UnixMilli() || l.Purge != 0 {
		t.Fatalf("legacy change read as %+v", l)
	}
	if pu.Key != key || pu.Seq != purge.Seq || pu.Version != 0 || pu.Purge != change.PurgeSoft {
		t.Fatalf("purge read as %+v, want %+v", pu, purge)
	}
	// Age trimming reads both layouts' times: all but the newest go.
	if n, err := s.TrimChanges(ctx, time.Now().Add(100*365*24*time.Hour), 100); err != nil || n < 2 {
		t.Fatalf("TrimChanges = %d, %v", n, err)
	}
	if page, err = s.Changes(ctx, p, 0, 10); err != nil || len(page.Changes) != 1 || page.Changes[0].Seq != purge.Seq {
		t.Fatalf("after trimming: %+v, %v; want only the purge", page, err)
	}
}
