package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin/redisstore"
	"github.com/shortstock/shortstock/origin/store"
)

// TestChangeNotifySeesOtherOriginsWrites: a store's ChangeNotify is
// signalled by a write another Store (another origin, maybe in another
// region) makes on the same Redis, standalone and Cluster, so a tailer can
// block on it instead of polling every partition's head. Removing the
// PUBLISH of lua/common.lua (notify_tail) makes it fail.
func TestChangeNotifySeesOtherOriginsWrites(t *testing.T) {
	for name, addrs := range map[string]func(testing.TB) []string{
		"standalone": func(t testing.TB) []string { return []string{env.Standalone(t)} },
		"cluster":    env.Cluster,
	} {
		t.Run(name, func(t *testing.T) {
			as := addrs(t)
			var prefix string
			tailer := openOn(t, as, func(c *redisstore.Config) { prefix = c.KeyPrefix })
			writer := openOn(t, as, func(c *redisstore.Config) { c.KeyPrefix = prefix })
			a, b := tailer.ChangeNotify(), tailer.ChangeNotify()
			// The subscription's confirmation signals first (what was
			// published before it is read through the heads).
			for _, ch := range []<-chan struct{}{a, b} {
				select {
				case <-ch:
				case <-time.After(10 * time.Second):
					t.Fatal("no signal when the subscription started")
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := writer.SetStock(ctx, "TAIL-1", "w", 1); err != nil {
				t.Fatal(err)
			}
			for i, ch := range []<-chan struct{}{a, b} {
				select {
				case <-ch:
				case <-time.After(10 * time.Second):
					t.Fatalf("watcher %d: no signal 10 s after another store's write", i)
				}
			}
		})
	}
}

// TestChangeNotifyLateWatcher: a watcher that joins a subscription already
// running has missed its start signal and whatever was published before;
// it is signalled once at once, so its tailer reads the heads (the race
// behind a flaky "no signal when the subscription started" in CI, where
// the second watcher of a test joined after the first's confirmation).
func TestChangeNotifyLateWatcher(t *testing.T) {
	s := openOn(t, []string{env.Standalone(t)})
	first := s.ChangeNotify()
	select {
	case <-first: // the subscription's confirmation
	case <-time.After(10 * time.Second):
		t.Fatal("no signal when the subscription started")
	}
	late := s.ChangeNotify()
	select {
	case <-late:
	case <-time.After(5 * time.Second):
		t.Fatal("a watcher joining a running subscription got no signal")
	}
	w := s.PartitionNotify()
	select {
	case <-w.C:
		if _, all := w.Take(); !all {
			t.Fatal("a partition watch joining a running subscription must read every head")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a partition watch joining a running subscription got no signal")
	}
}

// TestChangeNotifyAfterJobLines: a bulk job's lines (stock_write_lines,
// which numbers its changes itself and notifies once per call) signal a
// tailer too, so a queued line's invalidation is not left to the
// tailer's safety poll. Removing its notify_tail makes it fail.
func TestChangeNotifyAfterJobLines(t *testing.T) {
	var prefix string
	tailer := openOn(t, []string{env.Standalone(t)}, func(c *redisstore.Config) { prefix = c.KeyPrefix })
	writer := openOn(t, []string{env.Standalone(t)}, func(c *redisstore.Config) { c.KeyPrefix = prefix })
	ch := tailer.ChangeNotify()
	select {
	case <-ch: // the subscription's confirmation
	case <-time.After(10 * time.Second):
		t.Fatal("no signal when the subscription started")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	j := store.NewJob{ID: "tailjob1", Actor: "t", Lines: 1, CreatedAt: time.Now(),
		Valid: []store.JobLine{{Line: 1, Op: store.OpAdjust, SKU: "TAIL-J", Warehouse: "w", Qty: 2}}}
	if _, err := writer.CreateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	// Nothing else writes meanwhile: drain what creating the job said.
	for drained := false; !drained; {
		select {
		case <-ch:
		case <-time.After(300 * time.Millisecond):
			drained = true
		}
	}
	got, err := writer.RunJob(ctx, j.ID, "w1", time.Now(), time.Minute)
	if err != nil || got.Applied != 1 {
		t.Fatalf("RunJob: %+v %v", got, err)
	}
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no signal 10 s after a job line's change")
	}
}
