package redisstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// A movement's fixed fields are stored packed in one field (fewer
// arguments for Redis to propagate to the AOF and the replicas); entries
// written before, one field per value, still read (a SKU's ledger, the
// feed) and trim (ledger retention's openings) exactly as they did.
func TestLedgerReadsBothEntryLayouts(t *testing.T) {
	s := openStandalone(t)
	ctx := t.Context()
	const sku = "LAYOUT-1"
	if _, err := s.WriteStock(ctx, store.StockWrite{Op: store.OpSet, SKU: sku, Warehouse: "w1", Qty: 5, Reason: "cycle_count", Ref: "cc-9", Actor: "k1"}); err != nil {
		t.Fatal(err)
	}
	at := time.UnixMilli(time.Now().UnixMilli()).UTC()
	legacy, err := s.AppendLegacyMovement(ctx, sku, "w1", "adjust", 2, 7, 99, at, "received", "k9")
	if err != nil {
		t.Fatal(err)
	}
	fields, err := s.MovementFields(ctx, sku)
	if err != nil || len(fields) != 2 {
		t.Fatalf("stored entries: %v, %v", fields, err)
	}
	if _, ok := fields[0]["p"]; !ok || fields[0]["dh"] != nil || fields[0]["rs"] != nil || fields[0]["rf"] != nil || fields[0]["a"] != nil {
		t.Fatalf("a new movement is not stored packed: %v", fields[0])
	}

	page, err := s.Movements(ctx, store.MovementQuery{SKU: sku, Limit: 10})
	if err != nil || len(page.Movements) != 2 {
		t.Fatalf("Movements = %+v, %v; want 2", page, err)
	}
	first, old := page.Movements[0], page.Movements[1]
	if first.Kind != "set" || first.Warehouse != "w1" || first.DeltaOnHand != 5 || first.OnHand != 5 || first.Reserved != 0 ||
		first.Version == 0 || first.Reason != "cycle_count" || first.Ref != "cc-9" || first.Actor != "k1" || first.At.IsZero() {
		t.Fatalf("packed movement read as %+v", first)
	}
	want := store.Movement{ID: store.MovementID(old.Partition, legacy), Cursor: fmt.Sprint(legacy), SKU: sku, Warehouse: "w1",
		Kind: "adjust", DeltaOnHand: 2, OnHand: 7, Version: 99, At: at, Reason: "received", Actor: "k9",
		Partition: old.Partition, Seq: legacy}
	if old != want {
		t.Fatalf("legacy movement read as\n%+v, want\n%+v", old, want)
	}
	p := keys.DefaultSpace().Partition(keys.KindStock, sku)
	feed, err := s.PartitionMovements(ctx, p, 0, 10)
	if err != nil || len(feed) != 2 || feed[0] != first || feed[1] != old {
		t.Fatalf("feed = %+v, %v; want the same two movements", feed, err)
	}

	// Retention trims them one at a time (the store's only movements);
	// the openings hold the balance after each.
	for _, m := range []store.Movement{first, old} {
		if n, err := s.TrimLedger(ctx, at.Add(time.Hour), 1); err != nil || n != 1 {
			t.Fatalf("TrimLedger = %d, %v", n, err)
		}
		op, err := s.Openings(ctx, sku)
		if wantOp := fmt.Sprintf("%d:%d:0:%d:%d", m.Seq, m.OnHand, m.Version, m.At.UnixMilli()); err != nil || op["w1"] != wantOp {
			t.Fatalf("openings after trimming movement %d = %v, %v; want w1 %s", m.Seq, op, err, wantOp)
		}
	}
}
