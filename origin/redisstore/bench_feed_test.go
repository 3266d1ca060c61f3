package redisstore_test

import (
	"fmt"
	"testing"

	"github.com/shortstock/shortstock/origin/storetest"
)

// BenchmarkPartitionMovements is storetest.BenchPartitionReads after one
// write to each of 4096 SKUs (nearly every one of the 1024 partitions
// moved), on the standalone Redis: "many" pipelines every partition's
// feed script, "each" makes a round trip per partition.
//
//	go test -run '^$' -bench BenchmarkPartitionMovements -benchtime 20x ./origin/redisstore/
func BenchmarkPartitionMovements(b *testing.B) {
	s := openStandalone(b, benchConfig)
	ctx := ctxT(b)
	const skus = 4096
	for i := range skus {
		if _, err := s.SetStock(ctx, fmt.Sprintf("FEED-%d", i), "w1", 5); err != nil {
			b.Fatal(err)
		}
	}
	storetest.BenchPartitionReads(b, s, skus)
}
