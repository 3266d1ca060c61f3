package storetest

import (
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

func testStockSetAndView(t *testing.T, s store.Store) {
	w := watchLog(t, s)
	v := mustSetStock(t, s, "SKU-1", "w1", 10)
	checkView(t, "first SetStock", v, "SKU-1", 1, map[string]wh{"w1": {10, 0}})
	w.wrote(stockKey("SKU-1"), 1)

	v = mustSetStock(t, s, "SKU-1", "w2", 5)
	checkView(t, "SetStock of a second warehouse", v, "SKU-1", 2, map[string]wh{"w1": {10, 0}, "w2": {5, 0}})
	if v.Available != 15 {
		t.Fatalf("available = %d, want 15", v.Available)
	}
	w.wrote(stockKey("SKU-1"), 2)

	v = mustSetStock(t, s, "SKU-1", "w1", 7)
	checkView(t, "SetStock over an existing warehouse", v, "SKU-1", 3, map[string]wh{"w1": {7, 0}, "w2": {5, 0}})
	w.wrote(stockKey("SKU-1"), 3)

	// Setting the same value is still a write.
	v = mustSetStock(t, s, "SKU-1", "w1", 7)
	checkView(t, "SetStock to the same value", v, "SKU-1", 4, map[string]wh{"w1": {7, 0}, "w2": {5, 0}})
	w.wrote(stockKey("SKU-1"), 4)

	v = mustSetStock(t, s, "SKU-1", "w2", 0)
	checkView(t, "SetStock to zero", v, "SKU-1", 5, map[string]wh{"w1": {7, 0}, "w2": {0, 0}})
	w.wrote(stockKey("SKU-1"), 5)

	_, err := s.SetStock(t.Context(), "SKU-1", "w1", -1)
	wantErr(t, "SetStock negative", err, store.ErrInvalid)
	w.unchanged("a refused SetStock")

	got := mustGetStock(t, s, "SKU-1")
	checkView(t, "GetStock", got, "SKU-1", 5, map[string]wh{"w1": {7, 0}, "w2": {0, 0}})
	if got.Available != 7 {
		t.Fatalf("available = %d, want 7", got.Available)
	}

	// Another SKU has versions of its own.
	v = mustSetStock(t, s, "other.sku:2", "east", 3)
	checkView(t, "SetStock of another SKU", v, "other.sku:2", 1, map[string]wh{"east": {3, 0}})
	w.wrote(stockKey("other.sku:2"), 1)
	w.unchanged("GetStock")
}

func testStockBelowReserved(t *testing.T, s store.Store) {
	mustSetStock(t, s, "br", "w1", 10)
	mustReserve(t, s, reserveReq(s, "br", "w1", 6, time.Hour)) // version 2
	w := watchLog(t, s)

	_, err := s.SetStock(t.Context(), "br", "w1", 5)
	wantErr(t, "SetStock below reserved", err, store.ErrBelowReserved)
	w.unchanged("a refused SetStock")
	checkView(t, "after refused SetStock", mustGetStock(t, s, "br"), "br", 2, map[string]wh{"w1": {10, 6}})

	v := mustSetStock(t, s, "br", "w1", 6) // exactly the reserved: allowed
	checkView(t, "SetStock to reserved", v, "br", 3, map[string]wh{"w1": {6, 6}})
	if v.Available != 0 || v.Warehouses["w1"].Available != 0 {
		t.Fatalf("available = %d/%d, want 0", v.Available, v.Warehouses["w1"].Available)
	}
	w.wrote(stockKey("br"), 3)
}

func testStockAdjust(t *testing.T, s store.Store) {
	mustSetStock(t, s, "adj", "w1", 10)
	w := watchLog(t, s)
	adjust := func(house string, delta int64, version uint64, want map[string]wh) {
		t.Helper()
		v, err := s.AdjustStock(t.Context(), "adj", house, delta)
		if err != nil {
			t.Fatalf("AdjustStock(%s, %+d): %v", house, delta, err)
		}
		checkView(t, "AdjustStock", v, "adj", version, want)
		w.wrote(stockKey("adj"), version)
	}
	refuse := func(sku, house string, delta int64, want error) {
		t.Helper()
		_, err := s.AdjustStock(t.Context(), sku, house, delta)
		wantErr(t, "AdjustStock("+sku+"/"+house+")", err, want)
		w.unchanged("a refused AdjustStock")
	}

	adjust("w1", +5, 2, map[string]wh{"w1": {15, 0}})
	adjust("w1", -3, 3, map[string]wh{"w1": {12, 0}})
	mustReserve(t, s, reserveReq(s, "adj", "w1", 10, time.Hour)) // version 4
	w.wrote(stockKey("adj"), 4)
	refuse("adj", "w1", -3, store.ErrInsufficientStock) // 9 < 10 reserved
	adjust("w1", -2, 5, map[string]wh{"w1": {10, 10}})  // down to exactly reserved
	refuse("adj", "w1", -1, store.ErrInsufficientStock)

	// A positive delta on a new warehouse creates it; a negative one on a
	// missing warehouse or SKU is not found.
	refuse("adj", "w2", -1, store.ErrNotFound)
	adjust("w2", +2, 6, map[string]wh{"w1": {10, 10}, "w2": {2, 0}})
	refuse("adj", "w2", -3, store.ErrInsufficientStock) // below zero
	adjust("w2", -2, 7, map[string]wh{"w1": {10, 10}, "w2": {0, 0}})
	refuse("adj-nosuch", "w1", -1, store.ErrNotFound)
	if _, err := s.GetStock(t.Context(), "adj-nosuch"); err == nil {
		t.Fatal("a refused AdjustStock created the SKU")
	}
	checkView(t, "GetStock after adjusts", mustGetStock(t, s, "adj"), "adj", 7, map[string]wh{"w1": {10, 10}, "w2": {0, 0}})

	v, err := s.AdjustStock(t.Context(), "adj-new", "w1", 4)
	if err != nil {
		t.Fatalf("AdjustStock creating a SKU: %v", err)
	}
	checkView(t, "AdjustStock creating a SKU", v, "adj-new", 1, map[string]wh{"w1": {4, 0}})
	w.wrote(stockKey("adj-new"), 1)
}

func testStockUnknown(t *testing.T, s store.Store) {
	w := watchLog(t, s)
	v, err := s.GetStock(t.Context(), "nosuch")
	wantErr(t, "GetStock of an unknown SKU", err, store.ErrNotFound)
	if v.Version != 0 {
		t.Fatalf("GetStock of an unknown SKU: version %d, want 0", v.Version)
	}
	mustSetStock(t, s, "known", "w1", 1)
	w.wrote(stockKey("known"), 1)
	_, err = s.GetStock(t.Context(), "nosuch")
	wantErr(t, "GetStock of an unknown SKU next to a known one", err, store.ErrNotFound)
	w.unchanged("GetStock")
}
