package embedded

import (
	"fmt"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin"
)

func TestZZPagesPerReserve(t *testing.T) {
	cfg := DefaultConfig(t.TempDir())
	cfg.NoSync = true
	cfg.MaxBatchSize = 256
	s, _ := Open(cfg)
	defer s.Close()
	skus := make([]string, 64)
	for i := range skus {
		skus[i] = fmt.Sprintf("bench-%d", i)
		s.SetStock(t.Context(), skus[i], "w1", 1<<40)
	}
	run := func(n int) {
		var wg sync.WaitGroup
		for g := range 256 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := g; i < n; i += 256 {
					sku := skus[i%64]
					s.Reserve(t.Context(), origin.ReserveRequest{ID: keys.NewReservationID(keys.Partition(keys.KindStock, sku)), SKU: sku, Qty: 1, Now: time.Now(), TTL: time.Hour})
				}
			}()
		}
		wg.Wait()
	}
	run(20000) // warm: buckets grow beyond inline
	var id0, id1 int
	s.db.View(func(tx *bolt.Tx) error { id0 = tx.ID(); return nil })
	before := s.db.Stats()
	start := time.Now()
	const n = 20000
	run(n)
	after := s.db.Stats()
	d := after.Sub(&before)
	el := time.Since(start)
	s.db.View(func(tx *bolt.Tx) error { id1 = tx.ID(); return nil })
	fmt.Printf("commits=%d reserves/commit=%.1f\n", id1-id0, float64(n)/float64(id1-id0))
	fmt.Printf("txs=%d pages written=%d (%.1f/reserve) bytes=%dKB/reserve spill=%v write=%v rebalance=%v split=%d nodes=%d (%.1f/reserve) rate=%.0f/s\n",
		d.TxN, d.TxStats.GetWrite(), float64(d.TxStats.GetWrite())/n, 0, d.TxStats.GetSpillTime(), d.TxStats.GetWriteTime(), d.TxStats.GetRebalanceTime(), d.TxStats.GetSplit(), d.TxStats.GetNodeCount(), float64(d.TxStats.GetNodeCount())/n, n/el.Seconds())
}

var t0z = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
