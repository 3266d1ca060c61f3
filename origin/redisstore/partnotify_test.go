package redisstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/redisstore"
	"github.com/shortstock/shortstock/origin/store"
)

// TestPartitionNotifyNamesPartitions: a PartitionWatch learns exactly the
// partitions another store's writes changed (a bulk job's lines over many
// partitions, run as one stock_write_parts call per node), standalone and
// Cluster, and the job's lines each apply once and land in their own
// partition's change log.
func TestPartitionNotifyNamesPartitions(t *testing.T) {
	for name, addrs := range map[string]func(testing.TB) []string{
		"standalone": func(t testing.TB) []string { return []string{env.Standalone(t)} },
		"cluster":    env.Cluster,
	} {
		t.Run(name, func(t *testing.T) {
			as := addrs(t)
			var prefix string
			tailer := openOn(t, as, func(c *redisstore.Config) { prefix = c.KeyPrefix })
			writer := openOn(t, as, func(c *redisstore.Config) { c.KeyPrefix = prefix })
			w := tailer.PartitionNotify()
			select {
			case <-w.C: // the subscription's confirmation: all
			case <-time.After(10 * time.Second):
				t.Fatal("no signal when the subscription started")
			}
			if _, all := w.Take(); !all {
				t.Fatal("the subscription's start did not mark every partition")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			sp := writer.Partitions()
			j := store.NewJob{ID: "pnotify" + name, Actor: "t", CreatedAt: time.Now()}
			want := map[int]bool{}
			for i := range 40 {
				sku := fmt.Sprintf("PN-%d", i)
				want[sp.Partition(keys.KindStock, sku)] = true
				j.Valid = append(j.Valid, store.JobLine{Line: int64(i + 1), Op: store.OpAdjust, SKU: sku, Warehouse: "w", Qty: 1})
			}
			j.Lines = int64(len(j.Valid))
			if _, err := writer.CreateJob(ctx, j); err != nil {
				t.Fatal(err)
			}
			got, err := writer.RunJob(ctx, j.ID, "w1", time.Now(), time.Minute)
			if err != nil || !got.Ended() || got.Applied != j.Lines {
				t.Fatalf("RunJob: %+v %v", got, err)
			}
			seen := map[int]bool{}
			deadline := time.After(10 * time.Second)
			for len(seen) < len(want) {
				select {
				case <-w.C:
				case <-deadline:
					t.Fatalf("partitions signalled %v, want %v", seen, want)
				}
				ps, all := w.Take()
				if all {
					t.Fatal("a write marked every partition")
				}
				for _, p := range ps {
					if !want[p] {
						t.Fatalf("partition %d signalled, no line wrote it", p)
					}
					seen[p] = true
				}
			}
			for p := range want {
				page, err := tailer.Changes(ctx, p, 0, 100)
				if err != nil {
					t.Fatal(err)
				}
				var skus []string
				for _, c := range page.Changes {
					if c.Partition != p || sp.PartitionOfKey(c.Key) != p {
						t.Fatalf("change %+v in partition %d's log", c, p)
					}
					skus = append(skus, c.Key)
				}
				if len(skus) == 0 || len(skus) != len(slices.Compact(slices.Sorted(slices.Values(skus)))) {
					t.Fatalf("partition %d's log: %v (want each SKU once)", p, skus)
				}
			}
		})
	}
}
