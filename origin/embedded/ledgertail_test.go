package embedded_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/origin/store"
)

// tailConfig is a store whose background indexer never runs during a test:
// only embedded.IndexLedger moves the tail, so the test decides which
// movements are in the tail and which in the trees.
func tailConfig(dir string) embedded.Config {
	cfg := embedded.DefaultConfig(dir)
	cfg.Partitions = 16
	cfg.LedgerIndexInterval = time.Hour
	return cfg
}

// tailSKUs are SKUs of several partitions, two of them in one partition.
var tailSKUs = []string{"TAIL-A", "TAIL-B", "TAIL-C", "TAIL-D", "TAIL-E", "TAIL-F"}

// writeTailMoves makes rounds of adjusts and transfers on every SKU.
func writeTailMoves(t *testing.T, s *embedded.Store, rounds int) {
	t.Helper()
	ctx := t.Context()
	for r := range rounds {
		for _, sku := range tailSKUs {
			if _, err := s.AdjustStock(ctx, sku, "w1", 10); err != nil {
				t.Fatal(err)
			}
			if _, err := s.WriteStock(ctx, store.StockWrite{Op: store.OpTransfer, SKU: sku, Warehouse: "w1", To: "w2", Qty: 3,
				Reason: "transfer", Ref: fmt.Sprintf("round %d", r)}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// ledgerSnapshot is everything a reader can see of the ledger: each SKU's
// movements read in pages of 3 (so pages straddle the trees and the tail),
// each warehouse's, and each partition's feed read 4 at a time.
func ledgerSnapshot(t *testing.T, s *embedded.Store) map[string][]store.Movement {
	t.Helper()
	ctx := t.Context()
	out := map[string][]store.Movement{}
	for _, sku := range tailSKUs {
		for _, wh := range []string{"", "w2"} {
			var all []store.Movement
			q := store.MovementQuery{SKU: sku, Warehouse: wh, Limit: 3}
			for {
				page, err := s.Movements(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, page.Movements...)
				if page.Next == 0 {
					break
				}
				q.After = page.Next
			}
			out["sku "+sku+" "+wh] = all
		}
	}
	for p := range s.Partitions().N() {
		var all []store.Movement
		var after uint64
		for {
			ms, err := s.PartitionMovements(ctx, p, after, 4)
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) == 0 {
				break
			}
			all = append(all, ms...)
			after = ms[len(ms)-1].Seq
		}
		if len(all) > 0 {
			out[fmt.Sprint("partition ", p)] = all
		}
	}
	return out
}

// checkLedgerOrder: every list is in strictly increasing seq order (no
// duplicate, no reordering at the trees/tail seam) and each SKU's list
// holds all 3 movements per round.
func checkLedgerOrder(t *testing.T, snap map[string][]store.Movement, rounds int) {
	t.Helper()
	for name, ms := range snap {
		for i := 1; i < len(ms); i++ {
			if ms[i].Seq <= ms[i-1].Seq {
				t.Fatalf("%s: seq %d after %d", name, ms[i].Seq, ms[i-1].Seq)
			}
		}
	}
	for _, sku := range tailSKUs {
		if got := len(snap["sku "+sku+" "]); got != 3*rounds {
			t.Fatalf("%s: %d movements, want %d", sku, got, 3*rounds)
		}
		if got := len(snap["sku "+sku+" w2"]); got != rounds {
			t.Fatalf("%s in w2: %d movements, want %d", sku, got, rounds)
		}
	}
}

// TestLedgerTailReadsTheSameAsTheTrees: movements read the same whether
// they wait in the ledger's tail, sit in the partitions' trees, or are
// split between the two (pages across the seam), and indexing empties the
// tail.
func TestLedgerTailReadsTheSameAsTheTrees(t *testing.T) {
	s := open(t, tailConfig(t.TempDir()))
	parts := map[int]bool{}
	for _, sku := range tailSKUs {
		parts[s.Partitions().Partition(keys.KindStock, sku)] = true
	}
	if len(parts) < 3 {
		t.Fatalf("the SKUs fall in %d partitions; want several", len(parts))
	}

	writeTailMoves(t, s, 3)
	if n, err := embedded.LedgerTailLen(s); err != nil || n != 3*3*len(tailSKUs) {
		t.Fatalf("tail holds %d movements (%v), want all %d", n, err, 3*3*len(tailSKUs))
	}
	inTail := ledgerSnapshot(t, s)
	checkLedgerOrder(t, inTail, 3)

	if err := embedded.IndexLedger(s); err != nil {
		t.Fatal(err)
	}
	if n, err := embedded.LedgerTailLen(s); err != nil || n != 0 {
		t.Fatalf("tail holds %d movements after indexing (%v)", n, err)
	}
	if inTrees := ledgerSnapshot(t, s); !reflect.DeepEqual(inTail, inTrees) {
		t.Fatalf("the ledger reads differently once indexed:\ntail:  %v\ntrees: %v", inTail, inTrees)
	}

	// Some in the trees, the rest in the tail.
	writeTailMoves(t, s, 2)
	split := ledgerSnapshot(t, s)
	checkLedgerOrder(t, split, 5)
	if err := embedded.IndexLedger(s); err != nil {
		t.Fatal(err)
	}
	if indexed := ledgerSnapshot(t, s); !reflect.DeepEqual(split, indexed) {
		t.Fatalf("a ledger split between trees and tail reads differently once indexed")
	}
}

// TestLedgerTailSurvivesReopen: movements left in the tail by a store
// that closed (or died) before indexing them are read after a reopen, and
// the background indexer then moves them.
func TestLedgerTailSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := embedded.Open(tailConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	writeTailMoves(t, s, 2)
	before := ledgerSnapshot(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	cfg := tailConfig(dir)
	cfg.LedgerIndexInterval = time.Millisecond
	s = open(t, cfg)
	if after := ledgerSnapshot(t, s); !reflect.DeepEqual(before, after) {
		t.Fatalf("the ledger reads differently after a reopen")
	}
	waitTailEmpty(t, s, "after the reopen")
	if after := ledgerSnapshot(t, s); !reflect.DeepEqual(before, after) {
		t.Fatalf("the ledger reads differently after the indexer ran")
	}
	// Later writes wake the indexer too (not only the reopen).
	writeTailMoves(t, s, 1)
	waitTailEmpty(t, s, "after later writes")
	checkLedgerOrder(t, ledgerSnapshot(t, s), 3)
}

// waitTailEmpty polls until the background indexer has emptied the tail.
func waitTailEmpty(t *testing.T, s *embedded.Store, when string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := embedded.LedgerTailLen(s)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the indexer left %d movements in the tail", when, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRebuildSeesTheTail: RebuildStock refuses a replay that missed a
// movement still in the tail (its "ledger moved on" check reads both).
func TestRebuildSeesTheTail(t *testing.T) {
	s := open(t, tailConfig(t.TempDir()))
	ctx := t.Context()
	v, err := s.AdjustStock(ctx, "TAIL-R", "w1", 5)
	if err != nil {
		t.Fatal(err)
	}
	page, err := s.Movements(ctx, store.MovementQuery{SKU: "TAIL-R"})
	if err != nil || len(page.Movements) != 1 {
		t.Fatalf("movements %v, %v", page, err)
	}
	stale := page.Movements[0].Seq - 1
	if err := s.RebuildStock(ctx, v, stale); err == nil {
		t.Fatal("RebuildStock accepted a replay that missed the movement in the tail")
	}
	if err := s.RebuildStock(ctx, v, page.Movements[0].Seq); err != nil {
		t.Fatalf("RebuildStock with the tail's last seq: %v", err)
	}
}

// TestIndexerStartsWhenTheTailIsLong: with the interval far away, a tail
// that reaches LedgerIndexTail is indexed anyway, so a reader never scans
// much more than that; the ledger reads the same before and after.
func TestIndexerStartsWhenTheTailIsLong(t *testing.T) {
	cfg := tailConfig(t.TempDir())
	cfg.LedgerIndexTail = 20
	s := open(t, cfg)
	writeTailMoves(t, s, 1) // 18 movements: not yet
	if n, err := embedded.LedgerTailLen(s); err != nil || n != 18 {
		t.Fatalf("tail of %d movements (%v) before reaching the threshold, want all 18", n, err)
	}
	before := ledgerSnapshot(t, s)
	writeTailMoves(t, s, 1) // 36: past it
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := embedded.LedgerTailLen(s)
		if err != nil {
			t.Fatal(err)
		}
		if n < cfg.LedgerIndexTail {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tail holds %d movements, over LedgerIndexTail %d, and was not indexed", n, cfg.LedgerIndexTail)
		}
		time.Sleep(5 * time.Millisecond)
	}
	after := ledgerSnapshot(t, s)
	for k, ms := range before {
		if !reflect.DeepEqual(ms, after[k][:len(ms)]) {
			t.Fatalf("%s reads differently after the early index pass", k)
		}
	}
	checkLedgerOrder(t, after, 2)
}
