package redisstore_test

import (
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/redisstore"
	"github.com/shortstock/shortstock/origin/store"
)

// A bulk call writes its changes to the partition's log as runs (one
// entry per up to 256 consecutive seqs), not one entry per change. Read
// back, the log is what it was: every seq once, in order, every version
// of every key once, whatever the page size, with synchronous writes'
// single entries before and after; and retention by age removes whole
// entries, never the newest, reporting the changes it removed.
func TestChangeLogRunsFromBulkLines(t *testing.T) {
	backendsCfg(t, func(c *redisstore.Config) { c.ChangeStreamMaxAge = time.Hour }, func(t *testing.T, s *redisstore.Store) {
		ctx := ctxT(t)
		skus := sameStockPartition("CRUN", 3)
		p := keys.DefaultSpace().Partition(keys.KindStock, skus[0])
		sync := func() {
			t.Helper()
			if _, err := s.WriteStock(ctx, store.StockWrite{Op: store.OpAdjust, SKU: skus[0], Warehouse: "w1", Qty: 1, Reason: "received", Actor: "k1"}); err != nil {
				t.Fatal(err)
			}
		}
		sync()
		const lines = 700
		j := store.NewJob{ID: "cruns", Actor: "k1", Lines: lines, CreatedAt: time.Now()}
		failed := 0
		for line := int64(1); line <= lines; line++ {
			l := store.JobLine{Line: line, Op: store.OpAdjust, SKU: skus[line%3], Warehouse: "w1", Qty: 1, Reason: "received"}
			switch {
			case line%50 == 0:
				l = store.JobLine{Line: line, Op: store.OpTransfer, SKU: skus[line%3], Warehouse: "w1", To: "w2", Qty: 1, Reason: "transfer"}
			case line%97 == 0: // refused: no change
				l.Qty, failed = -1000, failed+1
			case line%89 == 0: // refused otherwise: a warehouse never stocked
				l.Warehouse, l.Qty, failed = "w9", -1, failed+1
			}
			j.Valid = append(j.Valid, l)
		}
		got := runNewJob(t, s, j)
		if got.Applied != lines-int64(failed) || len(got.Errors) != failed {
			t.Fatalf("job %+v; want %d applied", got, lines-failed)
		}
		// Each refused line with its own reason (the call's answer lists
		// refusals apart from the applied lines).
		for _, e := range got.Errors {
			if want := map[bool]string{true: "insufficient_stock", false: "not_found"}[e.Line%97 == 0]; e.Error != want {
				t.Fatalf("line %d refused as %q; want %q (%+v)", e.Line, e.Error, want, got.Errors)
			}
		}
		sync()
		total := 2 + lines - failed
		if n, err := s.ChangeLogLen(ctx, p); err != nil || n > 2+int64(total)/100 {
			t.Fatalf("the log holds %d entries for %d changes (%v): the bulk lines' are not runs", n, total, err)
		}
		views := map[string]uint64{}
		for _, sku := range skus {
			v, err := s.GetStock(ctx, sku)
			if err != nil {
				t.Fatal(err)
			}
			views["s:"+sku] = v.Version
		}
		for _, limit := range []int{1, 7, 300, 10000} {
			got := changesAll(t, s, p, 0, limit)
			checkChangeSeqs(t, got, 1, total, views)
		}

		// Retention by age: everything is old, so all but the newest
		// entry (the last synchronous write) goes.
		n, err := s.TrimChanges(ctx, time.Now().Add(2*time.Hour), store.MaxTrimBatch)
		if err != nil || n != total-1 {
			t.Fatalf("TrimChanges = %d, %v; want %d changes removed", n, err, total-1)
		}
		page, err := s.Changes(ctx, p, 0, 10)
		if err != nil || page.First != uint64(total) || len(page.Changes) != 1 || page.Changes[0].Seq != uint64(total) || page.Head != uint64(total) {
			t.Fatalf("after the trim: %+v, %v; want only seq %d", page, err, total)
		}
	})
}

// changesAll pages through a partition's log after "after" by limit.
func changesAll(t *testing.T, s *redisstore.Store, p int, after uint64, limit int) []change.Change {
	t.Helper()
	var out []change.Change
	for range 100_000 {
		page, err := s.Changes(t.Context(), p, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Changes) > limit {
			t.Fatalf("a page of %d changes for limit %d", len(page.Changes), limit)
		}
		if len(page.Changes) == 0 {
			return out
		}
		if page.Changes[0].Seq <= after {
			t.Fatalf("changes after %d (limit %d) start at %d", after, limit, page.Changes[0].Seq)
		}
		out = append(out, page.Changes...)
		after = page.Changes[len(page.Changes)-1].Seq
	}
	t.Fatal("the log never ends")
	return nil
}

// checkChangeSeqs requires seqs from..to, each once in order, each key's
// versions 1, 2, 3, ... ending at its version in final.
func checkChangeSeqs(t *testing.T, got []change.Change, from, to int, final map[string]uint64) {
	t.Helper()
	if len(got) != to-from+1 {
		t.Fatalf("%d changes; want seqs %d..%d", len(got), from, to)
	}
	last := map[string]uint64{}
	for i, c := range got {
		if c.Seq != uint64(from+i) {
			t.Fatalf("change %d has seq %d; want %d", i, c.Seq, from+i)
		}
		if c.Version != last[c.Key]+1 || c.AtUnixMs == 0 {
			t.Fatalf("change %+v follows version %d of its key", c, last[c.Key])
		}
		last[c.Key] = c.Version
	}
	for k, v := range final {
		if last[k] != v {
			t.Fatalf("%s: the log ends at version %d, the view is at %d", k, last[k], v)
		}
	}
}
