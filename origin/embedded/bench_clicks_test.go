package embedded_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/origin/store"
)

// BenchmarkApplyClickBatch applies an edge's click batch of 200 random
// codes (of 20 000 links over 1024 partitions, as the bench runs), the
// shape the 3 x 10 bench sends: every code in a different partition,
// nearly. B/op and allocs/op are the figures of interest (each batch is
// one commit; NoSync keeps fsync out of the timing).
//
//	go test -run '^$' -bench BenchmarkApplyClickBatch -benchtime 2000x ./origin/embedded/
func BenchmarkApplyClickBatch(b *testing.B) {
	s, batches := clickBench(b, -1) // one batch a write
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		bt := batches[i%len(batches)]
		bt.ID = fmt.Sprintf("bench-%d", i)
		if _, err := s.ApplyClickBatch(ctx, bt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyClickBatchMerged is BenchmarkApplyClickBatch with ten
// edges sending at once, merged (ClickMergeDelay): B/op and allocs/op per
// batch against the benchmark above are what merging saves. The batches
// are uniform over 20 000 links, so they share few links: this is the
// saving on the pages and partitions they share, not on hot links.
//
//	go test -run '^$' -bench 'BenchmarkApplyClickBatch' -benchtime 2000x ./origin/embedded/
func BenchmarkApplyClickBatchMerged(b *testing.B) {
	s, batches := clickBench(b, 5*time.Millisecond)
	ctx := b.Context()
	const edges = 10
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for range edges {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				bt := batches[i%len(batches)]
				bt.ID = fmt.Sprintf("bench-%d", i)
				if _, err := s.ApplyClickBatch(ctx, bt); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/float64(embedded.ClickWrites(s)), "batches/write")
}

// clickBench is a store of 20 000 links over 1024 partitions and 64
// batches of 200 random codes.
func clickBench(b *testing.B, mergeDelay time.Duration) (*embedded.Store, []store.ClickBatch) {
	cfg := embedded.DefaultConfig(b.TempDir())
	cfg.NoSync = true
	cfg.Partitions = 1024
	cfg.ClickMergeDelay = mergeDelay
	s := open(b, cfg)
	ctx := b.Context()
	codes := make([]string, 20000)
	for i := range codes {
		codes[i] = fmt.Sprintf("cb%05d", i)
		if _, err := s.CreateLink(ctx, store.NewLink{Code: codes[i], URL: "https://example.com/" + codes[i], Redirect: 302}); err != nil {
			b.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	batches := make([]store.ClickBatch, 64)
	for i := range batches {
		counts := make(map[string]int64, 200)
		for range 200 {
			counts[codes[rng.IntN(len(codes))]]++
		}
		batches[i] = store.ClickBatch{Counts: counts}
	}
	return s, batches
}
