package embedded_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/origin/store"
	"github.com/shortstock/shortstock/origin/storetest"
)

// TestManyPartitionMovementsMatchesTheLedger: the one-pass read of several
// partitions, with their movements split between the trees and the tail,
// gives each partition what its SKUs' ledgers hold (read through the
// skuMoves index, another path), in seq order, after each partition's own
// seq and up to the limit.
func TestManyPartitionMovementsMatchesTheLedger(t *testing.T) {
	s := open(t, tailConfig(t.TempDir()))
	ctx := t.Context()
	writeTailMoves(t, s, 2)
	if err := embedded.IndexLedger(s); err != nil {
		t.Fatal(err)
	}
	writeTailMoves(t, s, 2) // these stay in the tail

	byPart := map[int][]store.Movement{}
	for _, sku := range tailSKUs {
		page, err := s.Movements(ctx, store.MovementQuery{SKU: sku})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Movements {
			byPart[m.Partition] = append(byPart[m.Partition], m)
		}
	}
	for p := range byPart {
		slices.SortFunc(byPart[p], func(a, b store.Movement) int { return int(a.Seq) - int(b.Seq) })
	}
	if len(byPart) < 3 {
		t.Fatalf("the SKUs fell in %d partitions; the test needs several", len(byPart))
	}
	for _, limit := range []int{1, 3, 7, 1000} {
		for _, skip := range []int{0, 2, 5} {
			after := map[int]uint64{}
			want := map[int][]store.Movement{}
			for p, ms := range byPart {
				a := uint64(0)
				if skip > 0 && skip <= len(ms) {
					a = ms[skip-1].Seq
				}
				after[p] = a
				w := ms[min(skip, len(ms)):]
				want[p] = w[:min(limit, len(w))]
			}
			after[15] = 0 // a partition with nothing
			want[15] = nil
			got, err := s.ManyPartitionMovements(ctx, after, limit)
			if err != nil {
				t.Fatal(err)
			}
			for p := range want {
				if !reflect.DeepEqual(got[p], want[p]) {
					t.Fatalf("limit %d, skip %d, partition %d:\n got %v\nwant %v", limit, skip, p, got[p], want[p])
				}
				one, err := s.PartitionMovements(ctx, p, after[p], limit)
				if err != nil || !reflect.DeepEqual(one, want[p]) {
					t.Fatalf("PartitionMovements(%d): %v, %v; want %v", p, one, err, want[p])
				}
			}
		}
	}
	if _, err := s.ManyPartitionMovements(ctx, map[int]uint64{16: 0}, 10); err == nil {
		t.Fatal("a partition out of range was read")
	}
}

// BenchmarkPartitionMovements is storetest.BenchPartitionReads while the
// ledger tail holds 16384 movements (the most LedgerIndexTail lets it
// hold) of 4096 SKUs: "many" is one transaction and one pass over the
// tail, "each" scans the tail once per partition.
//
//	go test -run '^$' -bench BenchmarkPartitionMovements -benchtime 20x ./origin/embedded/
func BenchmarkPartitionMovements(b *testing.B) {
	cfg := embedded.DefaultConfig(b.TempDir())
	cfg.LedgerIndexInterval = 1 << 62 // the tail stays
	cfg.LedgerIndexTail = 1 << 30
	cfg.NoSync = true
	s := open(b, cfg)
	ctx := context.Background()
	const skus, rounds = 4096, 4
	for r := range rounds {
		for i := range skus {
			if _, err := s.AdjustStock(ctx, fmt.Sprintf("FEED-%d", i), "w1", int64(r+1)); err != nil {
				b.Fatal(err)
			}
		}
	}
	storetest.BenchPartitionReads(b, s, skus*rounds)
}
