package embedded_test

import (
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin/embedded"
)

// BenchmarkAdjust measures parallel synchronous adjusts on disk with fsync
// on (batches share fsyncs), over 64 SKUs: "ledger" is the product (each
// adjust also appends its movement in the same transaction), "noledger"
// the same adjust with the movement left out (the cost of the ledger is
// the ratio). Each reports bbolt's page writes and page bytes per adjust,
// the ledger indexer's included (the tail it left is indexed before the
// timer stops). SHORTSTOCK_BENCH_LEDGER_INDEX_INTERVAL (a Go duration)
// overrides LedgerIndexInterval, to compare intervals.
// Run with -count so they alternate:
//
//	go test -run '^$' -bench 'BenchmarkAdjust$' -benchtime 2s -count 6 ./origin/embedded/
func BenchmarkAdjust(b *testing.B) {
	for _, v := range []struct {
		name   string
		ledger bool
	}{{"noledger", false}, {"ledger", true}} {
		b.Run(v.name, func(b *testing.B) {
			cfg := embedded.DefaultConfig(b.TempDir())
			if d, err := time.ParseDuration(os.Getenv("SHORTSTOCK_BENCH_LEDGER_INDEX_INTERVAL")); err == nil {
				cfg.LedgerIndexInterval = d
			}
			s := open(b, cfg)
			if !v.ledger {
				embedded.SetBenchNoLedger(s)
			}
			skus := stockUp(b, s, 64)
			var n atomic.Uint64
			b.SetParallelism(128)
			b.ReportAllocs()
			a0, w0 := embedded.BenchWriteStats(s)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.AdjustStock(b.Context(), skus[n.Add(1)%64], "w1", 1); err != nil {
						b.Error(err)
						return
					}
				}
			})
			// The ledger indexer's work for these adjusts is part of
			// their cost: what it has not moved yet is moved inside the
			// timed run.
			if err := embedded.IndexLedger(s); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "adjusts/s")
			a1, w1 := embedded.BenchWriteStats(s)
			b.ReportMetric(float64(w1-w0)/float64(b.N), "pagewrites/adjust")
			b.ReportMetric(float64(a1-a0)/float64(b.N), "pageB/adjust")
		})
	}
}
