package embedded_test

import (
	"sync/atomic"
	"testing"

	"github.com/shortstock/shortstock/origin/embedded"
)

// BenchmarkAdjust measures parallel synchronous adjusts on disk with fsync
// on (batches share fsyncs), over 64 SKUs: with the ledger, each adjust
// also appends its movement in the same transaction.
//
//	go test -run '^$' -bench BenchmarkAdjust -benchtime 3s ./origin/embedded/
func BenchmarkAdjust(b *testing.B) {
	s := open(b, embedded.DefaultConfig(b.TempDir()))
	skus := stockUp(b, s, 64)
	var n atomic.Uint64
	b.SetParallelism(128)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.AdjustStock(b.Context(), skus[n.Add(1)%64], "w1", 1); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "adjusts/s")
}
