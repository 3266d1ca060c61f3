package embedded

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin"
)

func TestZZPagesPerReserve(t *testing.T) {
	cfg := DefaultConfig(t.TempDir())
	cfg.MaxBatchSize, _ = strconv.Atoi(os.Getenv("ZZ_BATCH"))
	cfg.MaxBatchDelay, _ = time.ParseDuration(os.Getenv("ZZ_DELAY"))
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
	run(10000)
	var id0, id1 int
	s.db.View(func(tx *bolt.Tx) error { id0 = tx.ID(); return nil })
	before := s.db.Stats()
	start := time.Now()
	const n = 20000
	run(n)
	el := time.Since(start)
	s.db.View(func(tx *bolt.Tx) error { id1 = tx.ID(); return nil })
	after := s.db.Stats()
	d := after.Sub(&before)
	fmt.Printf("delay=%v batch=%d commits=%d reserves/commit=%.1f pages/reserve=%.1f spill=%v write(incl fsync)=%v wall=%v rate=%.0f/s\n",
		cfg.MaxBatchDelay, cfg.MaxBatchSize, id1-id0, float64(n)/float64(id1-id0), float64(d.TxStats.GetWrite())/n, d.TxStats.GetSpillTime(), d.TxStats.GetWriteTime(), el, n/el.Seconds())
}
