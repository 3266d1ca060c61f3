package embedded_test

import (
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin"
	"github.com/shortstock/shortstock/origin/embedded"
	"sync/atomic"
)

func BenchmarkZZNoSync(b *testing.B) {
	cfg := embedded.DefaultConfig(b.TempDir())
	cfg.NoSync = true
	cfg.MaxBatchSize = 256
	s := open(b, cfg)
	skus := stockUp(b, s, 64)
	var n atomic.Uint64
	b.SetParallelism(128)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			sku := skus[n.Add(1)%uint64(len(skus))]
			r := origin.ReserveRequest{ID: keys.NewReservationID(keys.Partition(keys.KindStock, sku)), SKU: sku, Qty: 1, Now: t0, TTL: time.Hour}
			if _, err := s.Reserve(b.Context(), r); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reservations/s")
}
