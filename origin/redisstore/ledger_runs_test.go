package redisstore_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/redisstore"
	"github.com/shortstock/shortstock/origin/store"
)

// A bulk call names its movements in the partition's ledger order (mlog)
// as runs, one entry per up to 256 consecutive seqs, not one per
// movement. The feed still returns every movement once, in seq order,
// whatever its page size; retention trims a run part way and later the
// rest, each SKU's ledger still replaying to its view after every call.
func TestLedgerFeedAndTrimOverBulkRuns(t *testing.T) {
	backendsCfg(t, func(*redisstore.Config) {}, func(t *testing.T, s *redisstore.Store) {
		ctx := ctxT(t)
		skus := sameStockPartition("RUN", 3)
		p := keys.DefaultSpace().Partition(keys.KindStock, skus[0])
		// A synchronous write first: an mlog entry of one movement.
		if _, err := s.WriteStock(ctx, store.StockWrite{Op: store.OpSet, SKU: skus[0], Warehouse: "w1", Qty: 5, Reason: "cycle_count", Actor: "k1"}); err != nil {
			t.Fatal(err)
		}
		const lines = 700
		j := store.NewJob{ID: "runs", Actor: "k1", Lines: lines, CreatedAt: time.Now()}
		failed := 0
		for line := int64(1); line <= lines; line++ {
			// A ref with a space keeps the movement's meta apart from
			// its packed field (append_move): both layouts in one run.
			ref := map[bool]string{true: "po 7", false: "po-7"}[line%2 == 1]
			l := store.JobLine{Line: line, Op: store.OpAdjust, SKU: skus[line%3], Warehouse: "w1", Qty: 1, Reason: "received", Ref: ref}
			switch {
			case line%50 == 0: // two movements
				l = store.JobLine{Line: line, Op: store.OpTransfer, SKU: skus[line%3], Warehouse: "w1", To: "w2", Qty: 1, Reason: "transfer"}
			case line%97 == 0: // refused: no movement, a gap in no run
				l.Qty, failed = -1000, failed+1
			}
			j.Valid = append(j.Valid, l)
		}
		if got := runNewJob(t, s, j); got.Applied != lines-int64(failed) {
			t.Fatalf("job %+v; want %d applied", got, lines-failed)
		}

		var want []store.Movement
		for _, sku := range skus {
			want = append(want, skuMovements(t, s, sku)...)
		}
		slices.SortFunc(want, func(a, b store.Movement) int { return int(a.Seq) - int(b.Seq) })
		if n := 1 + lines - failed + lines/50; len(want) != n {
			t.Fatalf("%d movements; want %d", len(want), n)
		}
		if n, err := s.MoveLogLen(ctx, p); err != nil || n > 1+int64(len(want))/100 {
			t.Fatalf("mlog holds %d entries for %d movements (%v): the bulk lines' are not runs", n, len(want), err)
		}
		for _, limit := range []int{1, 7, 300, store.MaxMovementsLimit} {
			if got := feedAll(t, s, p, limit); !slices.Equal(got, want) {
				t.Fatalf("feed by pages of %d: %d movements, first differing at %d; want %d", limit, len(got), firstDiff(got, want), len(want))
			}
		}
		for line, ref := range map[int64]string{1: "po 7", 2: "po-7"} {
			if m := want[line]; m.Reason != "received" || m.Ref != ref || m.Actor != "k1" || m.IdempotencyKey != store.JobLineKey(j.ID, line) {
				t.Fatalf("bulk movement of line %d read as %+v", line, m)
			}
		}

		// Trim in calls of 100 (runs of up to 256: most calls stop
		// inside one).
		future := time.Now().Add(time.Hour)
		for left := len(want); left > 0; {
			n, err := s.TrimLedger(ctx, future, 100)
			if err != nil || n != min(100, left) {
				t.Fatalf("TrimLedger with %d left = %d, %v", left, n, err)
			}
			left -= n
			if got := feedAll(t, s, p, 7); !slices.Equal(got, want[len(want)-left:]) {
				t.Fatalf("after trimming to %d left, the feed has %d movements (first differing at %d)", left, len(got), firstDiff(got, want[len(want)-left:]))
			}
			for _, sku := range skus {
				view, err := s.GetStock(ctx, sku)
				if err != nil {
					t.Fatal(err)
				}
				replayed, err := store.Replay(sku, skuMovements(t, s, sku))
				if err != nil || replayed.Version != view.Version || fmt.Sprint(replayed.Warehouses) != fmt.Sprint(view.Warehouses) {
					t.Fatalf("%s with %d left: replay %+v, %v; view %+v", sku, left, replayed, err, view)
				}
			}
		}
		if n, err := s.MoveLogLen(ctx, p); err != nil || n != 0 {
			t.Fatalf("mlog holds %d entries after every movement was trimmed (%v)", n, err)
		}
	})
}

// runNewJob creates job j and runs it to its end (in at most 10 steps).
func runNewJob(t *testing.T, s *redisstore.Store, j store.NewJob) store.Job {
	t.Helper()
	if _, err := s.CreateJob(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		got, err := s.RunJob(t.Context(), j.ID, "w", time.Now(), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if got.Ended() {
			return got
		}
		if i > 10 {
			t.Fatalf("not ended: %+v", got)
		}
	}
}

// sameStockPartition returns n SKUs "<prefix>-<i>" of one partition.
func sameStockPartition(prefix string, n int) []string {
	sp := keys.DefaultSpace()
	byPart := map[int][]string{}
	for i := 0; ; i++ {
		sku := fmt.Sprintf("%s-%d", prefix, i)
		p := sp.Partition(keys.KindStock, sku)
		byPart[p] = append(byPart[p], sku)
		if len(byPart[p]) == n {
			return byPart[p]
		}
	}
}

func skuMovements(t *testing.T, s *redisstore.Store, sku string) []store.Movement {
	t.Helper()
	var out []store.Movement
	for after := uint64(0); ; {
		page, err := s.Movements(t.Context(), store.MovementQuery{SKU: sku, After: after, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Movements...)
		if page.Next == 0 {
			return out
		}
		after = page.Next
	}
}

func feedAll(t *testing.T, s *redisstore.Store, p, limit int) []store.Movement {
	t.Helper()
	var out []store.Movement
	for after := uint64(0); ; {
		page, err := s.PartitionMovements(t.Context(), p, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > limit {
			t.Fatalf("a feed page of %d movements for limit %d", len(page), limit)
		}
		if len(page) == 0 {
			return out
		}
		if page[0].Seq <= after || len(out) > 100_000 {
			t.Fatalf("feed after %d (limit %d) starts at %d", after, limit, page[0].Seq)
		}
		out = append(out, page...)
		after = page[len(page)-1].Seq
	}
}

func firstDiff(a, b []store.Movement) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
