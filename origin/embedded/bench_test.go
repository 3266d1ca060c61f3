package embedded_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/origin/store"
)

// BenchmarkReserve measures reservations per second through the full
// Store path, on disk, with fsync on every commit: many concurrent
// clients (as an origin under load has) reserving one unit of random SKUs,
// so batches fill and share fsyncs.
//
//	go test -run '^$' -bench BenchmarkReserve -benchtime 3s ./origin/embedded/
func BenchmarkReserve(b *testing.B) {
	for _, bc := range []struct {
		name   string
		mutate func(*embedded.Config)
	}{
		{"fsync/default", func(*embedded.Config) {}},
		// For comparison: small batches queue up under load.
		{"fsync/batch64", func(c *embedded.Config) { c.MaxBatchSize = 64 }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := embedded.DefaultConfig(b.TempDir())
			bc.mutate(&cfg)
			if cfg.NoSync {
				b.Fatal("this benchmark is about fsync on")
			}
			s := open(b, cfg)
			skus := stockUp(b, s, 64)
			var n atomic.Uint64
			b.SetParallelism(128) // clients per GOMAXPROCS: enough to fill batches
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					sku := skus[n.Add(1)%uint64(len(skus))]
					r := store.ReserveRequest{ID: keys.NewReservationID(keys.DefaultSpace().Partition(keys.KindStock, sku)), SKU: sku, Qty: 1, Now: time.Now(), TTL: time.Hour}
					if _, err := s.Reserve(b.Context(), r); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reservations/s")
		})
	}
}

// stockUp creates n SKUs (spread over partitions) with stock that never
// runs out, concurrently so setup shares fsyncs too.
func stockUp(b *testing.B, s store.Store, n int) []string {
	skus := make([]string, n)
	var wg sync.WaitGroup
	for i := range skus {
		skus[i] = fmt.Sprintf("bench-%d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.SetStock(b.Context(), skus[i], "w1", 1<<50); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	return skus
}
