package redisstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/clock"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/redisstore"
	"github.com/shortstock/shortstock/origin/store"
)

// TestTrimChangesByAge: changes older than ChangeStreamMaxAge leave each
// partition's stream, younger ones and every partition's newest stay,
// the heads do not move, and a reader after a trimmed change sees the log
// start past it (First) so it knows to drop the partition. On a cluster
// too: each partition's script runs on its slot's master.
func TestTrimChangesByAge(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t testing.TB, mutate ...func(*redisstore.Config)) *redisstore.Store
	}{{"standalone", openStandalone}, {"cluster", openCluster}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxT(t)
			clk := clock.NewFake(t0)
			s := tc.open(t, func(c *redisstore.Config) {
				c.Clock, c.ChangeStreamMaxAge, c.Partitions = clk, time.Hour, 4
			})
			space := s.Partitions()
			// Two old writes per SKU, then (two hours later) one young
			// write to half of the SKUs.
			const skus = 12
			for round := range 2 {
				for i := range skus {
					if _, err := s.SetStock(ctx, fmt.Sprintf("S-%d", i), "w", int64(round+1)); err != nil {
						t.Fatal(err)
					}
				}
			}
			clk.Advance(2 * time.Hour)
			young := map[int]int{}
			for i := 0; i < skus; i += 2 {
				sku := fmt.Sprintf("S-%d", i)
				if _, err := s.SetStock(ctx, sku, "w", 9); err != nil {
					t.Fatal(err)
				}
				young[space.PartitionOfKey(keys.Key(keys.KindStock, sku))]++
			}
			heads, err := s.Heads(ctx)
			if err != nil {
				t.Fatal(err)
			}
			n, err := s.TrimChanges(ctx, clk.Now(), store.MaxTrimBatch)
			if err != nil {
				t.Fatal(err)
			}
			kept := 0
			for p := range space.N() {
				page, err := s.Changes(ctx, p, 0, 1000)
				if err != nil {
					t.Fatal(err)
				}
				if page.Head != heads[p] {
					t.Fatalf("partition %d head %d after the trim, %d before", p, page.Head, heads[p])
				}
				want := max(young[p], 1) // the newest always stays
				if heads[p] == 0 {
					want = 0
				}
				if len(page.Changes) != want {
					t.Fatalf("partition %d keeps %d changes, want %d (young %d): %+v", p, len(page.Changes), want, young[p], page.Changes)
				}
				for _, c := range page.Changes {
					if c.AtUnixMs < clk.Now().Add(-time.Hour).UnixMilli() && c.Seq != heads[p] {
						t.Fatalf("partition %d kept an old change %+v", p, c)
					}
				}
				if want > 0 && page.First != heads[p]-uint64(want)+1 {
					t.Fatalf("partition %d First %d, want %d: a reader after seq 0 must see the log starts later", p, page.First, heads[p]-uint64(want)+1)
				}
				kept += want
			}
			var total uint64
			for _, h := range heads {
				total += h
			}
			if uint64(n+kept) != total {
				t.Fatalf("trimmed %d and kept %d of %d changes", n, kept, total)
			}
			// Nothing more is old: a second pass trims nothing.
			if n, err := s.TrimChanges(ctx, clk.Now(), store.MaxTrimBatch); err != nil || n != 0 {
				t.Fatalf("second trim: %d, %v", n, err)
			}
			if _, err := s.TrimChanges(ctx, clk.Now(), 0); err == nil {
				t.Fatal("max 0 accepted")
			}
		})
	}
}
