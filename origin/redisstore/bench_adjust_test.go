package redisstore_test

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/shortstock/shortstock/origin/redisstore"
	"github.com/shortstock/shortstock/origin/store"
)

// BenchmarkAdjust measures parallel synchronous adjusts (Store.AdjustStock,
// one script per call) over 64 SKUs on the standalone Redis, from
// benchClients goroutines: "ledger" is the product (the state change, its
// movement and its change record), "noledger" the same script with the
// movement left out (redisstore.UseBenchNoLedger); the cost of the ledger
// is the ratio, best read from redis-us/adjust (the server's CPU per
// script call, INFO commandstats). Run them alternately:
//
//	go test -c -o /tmp/rs.test ./origin/redisstore/ && cd origin/redisstore &&
//	for i in 1 2 3 4 5 6; do for v in noledger ledger; do
//	  /tmp/rs.test -test.run '^$' -test.bench "BenchmarkAdjust/^$v\$" -test.benchtime 1s; done; done
func BenchmarkAdjust(b *testing.B) {
	for _, v := range []struct {
		name   string
		ledger bool
	}{{"noledger", false}, {"ledger", true}} {
		b.Run(v.name, func(b *testing.B) {
			if !v.ledger {
				defer redisstore.UseBenchNoLedger()()
			}
			s := openStandalone(b, benchConfig)
			ctx := ctxT(b)
			skus := make([]string, 64)
			for i := range skus {
				skus[i] = fmt.Sprintf("ADJ-%d", i)
				if _, err := s.SetStock(ctx, skus[i], "w1", 1<<40); err != nil {
					b.Fatal(err)
				}
			}
			calls0, usec0, err := s.ScriptCPU(ctx)
			if err != nil {
				b.Fatal(err)
			}
			var n atomic.Uint64
			b.SetParallelism((benchClients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.AdjustStock(ctx, skus[n.Add(1)%64], "w1", 1); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "adjusts/s")
			// Redis's own CPU per adjust: what bounds the rate when Redis is
			// the bottleneck, and steady on a loaded machine.
			calls, usec, err := s.ScriptCPU(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if calls > calls0 {
				b.ReportMetric(float64(usec-usec0)/float64(calls-calls0), "redis-us/adjust")
			}
		})
	}
}

// BenchmarkLedgerBytes reports the Redis memory one movement costs: 2000
// adjusts (reason and a short ref) of one SKU, the SKU's ledger stream plus
// its partition's ledger order stream, divided by 2000.
//
//	go test -run '^$' -bench BenchmarkLedgerBytes ./origin/redisstore/
func BenchmarkLedgerBytes(b *testing.B) {
	s := openStandalone(b)
	ctx := ctxT(b)
	const n = 2000
	for range n {
		if _, err := s.WriteStock(ctx, store.StockWrite{Op: store.OpAdjust, SKU: "SKU-00001", Warehouse: "eu-1", Qty: 3, Reason: "received", Ref: "po-12345", Actor: "key-0123abcd"}); err != nil {
			b.Fatal(err)
		}
	}
	sku, part, err := s.LedgerMemory(ctx, "SKU-00001")
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
	}
	b.ReportMetric(float64(sku+part)/n, "bytes/movement")
	b.ReportMetric(float64(sku)/n, "sku-stream-bytes/movement")
}
