package redisstore_test

import (
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin/redisstore"
	"github.com/shortstock/shortstock/origin/store"
)

// benchClients matches redis-benchmark -c 50: the number of concurrent
// callers (and connections) both sides of the comparison use.
const benchClients = 50

const benchSKU = "BENCH-1"

// benchNow is the fixed request time of every benchmark reservation, on
// both sides of the comparison, so both insert into the holds ZSET the same
// way (equal scores).
var benchNow = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// BenchmarkReserve measures parallel reservations (Store.Reserve, one Lua
// script per call) on the standalone Redis. bench/redis-reserve.sh compares
// it with redis-benchmark running the same script on the same server.
func BenchmarkReserve(b *testing.B) {
	s := openStandalone(b, benchConfig)
	benchReserve(b, s)
}

// benchConfig sizes the pool for benchClients. With
// SHORTSTOCK_BENCH_UNSAFE_REDIS=1 it also accepts a server without AOF
// always (e.g. SHORTSTOCK_TEST_REDIS=... pointing at one started with
// --appendonly no), to measure what persistence costs.
func benchConfig(c *redisstore.Config) {
	c.PoolSize = benchClients + 8
	if os.Getenv("SHORTSTOCK_BENCH_UNSAFE_REDIS") == "1" {
		c.UnsafeConfig = "warn"
	}
}

// benchReserve reserves 1 unit of one SKU (stock large enough never to run
// out) from benchClients goroutines and reports reservations/s.
func benchReserve(b *testing.B, s *redisstore.Store) {
	ctx := ctxT(b)
	if _, err := s.SetStock(ctx, benchSKU, "w1", 1<<45); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism((benchClients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, err := s.Reserve(ctx, store.ReserveRequest{SKU: benchSKU, Qty: 1, Now: benchNow, TTL: time.Hour})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reservations/s")
}
