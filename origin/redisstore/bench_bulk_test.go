package redisstore_test

import (
	"testing"

	"github.com/shortstock/shortstock/origin/storetest"
)

// BenchmarkBulk measures a bulk job's lines/s on the standalone Redis and
// the 3-master cluster: one pipeline of 1000 stock_write scripts per
// chunk, each line a full ledgered adjust.
//
//	go test -run '^$' -bench BenchmarkBulk -benchtime 200000x ./origin/redisstore/
func BenchmarkBulk(b *testing.B) {
	b.Run("standalone", func(b *testing.B) { storetest.BenchBulk(b, openStandalone(b, benchConfig)) })
	b.Run("cluster", func(b *testing.B) { storetest.BenchBulk(b, openCluster(b, benchConfig)) })
}
