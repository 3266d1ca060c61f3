package redisstore_test

import (
	"fmt"
	"testing"

	"github.com/shortstock/shortstock/origin/store"
)

// BenchmarkPartitionMovements reads what a feed read from the start reads
// (up to 1000 movements of every partition that moved) after one write to
// each of 4096 SKUs (nearly every one of the 1024 partitions moved), on
// the standalone Redis: "many" pipelines every partition's feed script,
// "each" makes one PartitionMovements round trip per partition (how the
// feed read before).
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
	heads, err := s.LedgerHeads(ctx)
	if err != nil {
		b.Fatal(err)
	}
	after := map[int]uint64{}
	for p, h := range heads {
		if h > 0 {
			after[p] = 0
		}
	}
	b.Run("many", func(b *testing.B) {
		for b.Loop() {
			got, err := s.ManyPartitionMovements(ctx, after, store.MaxMovementsLimit)
			if n := countMoves(got); err != nil || n != skus {
				b.Fatalf("read %d movements: %v", n, err)
			}
		}
	})
	b.Run("each", func(b *testing.B) {
		for b.Loop() {
			got := map[int][]store.Movement{}
			for p := range after {
				var err error
				if got[p], err = s.PartitionMovements(ctx, p, 0, store.MaxMovementsLimit); err != nil {
					b.Fatal(err)
				}
			}
			if n := countMoves(got); n != skus {
				b.Fatalf("read %d movements", n)
			}
		}
	})
}

func countMoves(m map[int][]store.Movement) (n int) {
	for _, ms := range m {
		n += len(ms)
	}
	return n
}
