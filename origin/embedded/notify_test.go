package embedded_test

import (
	"context"
	"testing"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/origin/store"
)

// TestChangeNotifyReachesEveryWatcher: each ChangeNotify caller (one
// origin per region may tail one store) gets its own signal after a
// committed write, and none before.
func TestChangeNotifyReachesEveryWatcher(t *testing.T) {
	s := open(t, embedded.DefaultConfig(t.TempDir()))
	a, b := s.ChangeNotify(), s.ChangeNotify()
	for name, ch := range map[string]<-chan struct{}{"first": a, "second": b} {
		select {
		case <-ch:
			t.Fatalf("%s watcher signalled before any write", name)
		default:
		}
	}
	if _, err := s.SetStock(context.Background(), "N-1", "w", 3); err != nil {
		t.Fatal(err)
	}
	// The signal is sent before the write returns: no waiting needed.
	for name, ch := range map[string]<-chan struct{}{"first": a, "second": b} {
		select {
		case <-ch:
		default:
			t.Fatalf("%s watcher not signalled after a committed write", name)
		}
	}
}

// TestPartitionNotifyNamesTheWrittenPartitions: each PartitionNotify watch
// is marked with exactly the partitions whose logs committed writes
// appended to, so a tailer reads those and not every head; a write that
// changes nothing marks nothing.
func TestPartitionNotifyNamesTheWrittenPartitions(t *testing.T) {
	ctx := context.Background()
	s := open(t, embedded.DefaultConfig(t.TempDir()))
	a, b := s.PartitionNotify(), s.PartitionNotify()
	if ps, all := a.Take(); len(ps) != 0 || all {
		t.Fatalf("marked before any write: %v all=%v", ps, all)
	}
	skus := []string{"N-1", "N-2", "N-3"}
	want := map[int]bool{}
	for _, sku := range skus {
		if _, err := s.SetStock(ctx, sku, "w", 3); err != nil {
			t.Fatal(err)
		}
		want[s.Partitions().PartitionOfKey(keys.Key(keys.KindStock, sku))] = true
	}
	for name, w := range map[string]*store.PartitionWatch{"first": a, "second": b} {
		select {
		case <-w.C: // marked before the write returned: no waiting needed
		default:
			t.Fatalf("%s watch not signalled after committed writes", name)
		}
		ps, all := w.Take()
		got := map[int]bool{}
		for _, p := range ps {
			got[p] = true
		}
		if all || len(got) != len(want) || len(ps) != len(got) {
			t.Fatalf("%s watch: marked %v (all=%v), want partitions %v once each", name, ps, all, want)
		}
		for p := range want {
			if !got[p] {
				t.Fatalf("%s watch: partition %d written but not marked (marked %v)", name, p, ps)
			}
		}
	}
	// A refused write appends no change and marks nothing.
	if _, err := s.SetStock(ctx, "N-1", "w", -5); err == nil {
		t.Fatal("negative stock accepted")
	}
	if ps, all := a.Take(); len(ps) != 0 || all {
		t.Fatalf("a refused write marked %v all=%v", ps, all)
	}
}
