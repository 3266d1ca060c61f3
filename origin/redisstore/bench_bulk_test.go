package redisstore_test

import (
	"testing"

	"github.com/shortstock/shortstock/origin/redisstore"
	"github.com/shortstock/shortstock/origin/storetest"
)

// BenchmarkBulk measures a bulk job's lines/s on the standalone Redis and
// the 3-master cluster: per chunk of 1000 lines, one stock_write_lines
// script per partition (all the chunk's lines of that partition, each a
// full ledgered adjust), pipelined. On the standalone Redis it also
// reports Redis's own CPU per line (EVALSHA time from INFO commandstats,
// the job's claim and progress scripts included).
//
//	go test -run '^$' -bench BenchmarkBulk -benchtime 200000x ./origin/redisstore/
func BenchmarkBulk(b *testing.B) {
	b.Run("standalone", func(b *testing.B) {
		s := openStandalone(b, benchConfig)
		calls0, usec0, err := s.ScriptCPU(ctxT(b))
		if err != nil {
			b.Fatal(err)
		}
		storetest.BenchBulk(b, s)
		reportScriptCPU(b, s, calls0, usec0)
	})
	// Every line its own SKU, created by the line (a first import), or
	// stocked before (a feed over a known catalog).
	for _, warm := range []bool{false, true} {
		name := "standalone-distinct"
		if warm {
			name += "-warm"
		}
		b.Run(name, func(b *testing.B) {
			s := openStandalone(b, benchConfig)
			calls0, usec0, err := s.ScriptCPU(ctxT(b))
			if err != nil {
				b.Fatal(err)
			}
			storetest.BenchBulkSKUs(b, s, b.N, warm)
			if !warm { // the warm-up's scripts are not the timed lines'
				reportScriptCPU(b, s, calls0, usec0)
			}
		})
	}
	b.Run("cluster", func(b *testing.B) { storetest.BenchBulk(b, openCluster(b, benchConfig)) })
}

func reportScriptCPU(b *testing.B, s *redisstore.Store, calls0, usec0 int64) {
	_, usec, err := s.ScriptCPU(ctxT(b))
	if err != nil {
		b.Fatal(err)
	}
	_ = calls0
	b.ReportMetric(float64(usec-usec0)/float64(b.N), "redis-us/line")
}
