package embedded

import (
	"context"
	"fmt"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// BenchmarkLedgerBytes reports what one movement costs in bbolt: key and
// value bytes of its ledger entry and its per-SKU index entry (page
// overhead not counted), for adjusts with a reason and a short ref.
//
//	go test -run '^$' -bench BenchmarkLedgerBytes ./origin/embedded/
func BenchmarkLedgerBytes(b *testing.B) {
	cfg := DefaultConfig(b.TempDir())
	cfg.NoSync = true
	s, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	const n = 2000
	for i := range n {
		w := store.StockWrite{Op: store.OpAdjust, SKU: fmt.Sprintf("SKU-%05d", i%50), Warehouse: "eu-1", Qty: 3, Reason: "received", Ref: "po-12345", Actor: "key-0123abcd"}
		if _, err := s.WriteStock(ctx, w); err != nil {
			b.Fatal(err)
		}
	}
	var bytes, count int
	err = s.db.View(func(tx *bolt.Tx) error {
		for p := range keys.DefaultPartitions {
			pt, err := partOf(tx, p)
			if err != nil {
				return err
			}
			for _, bk := range []*bolt.Bucket{pt.moves, pt.skuMoves} {
				if err := bk.ForEach(func(k, v []byte) error {
					bytes += len(k) + len(v)
					if bk == pt.moves {
						count++
					}
					return nil
				}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil || count != n {
		b.Fatalf("%d movements, %v", count, err)
	}
	for range b.N {
	}
	b.ReportMetric(float64(bytes)/float64(count), "bytes/movement")
}
