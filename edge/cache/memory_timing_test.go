package cache

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
)

// BenchmarkMemory1MLinks fills a cache with 1 M link redirects (7-character
// codes, ~45-byte URLs, as a link shortener stores) and reports the Go heap
// they take, against the DESIGN target of 1 M cached links in under 300 MB
// resident per edge.
//
//	go test -run '^$' -bench Memory1MLinks -benchtime 1x ./edge/cache/
func BenchmarkMemory1MLinks(b *testing.B) {
	const n = 1_000_000
	for i := 0; i < b.N; i++ {
		runtime.GC()
		debug.FreeOSMemory()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		cfg := DefaultConfig()
		cfg.MaxCostBytes = 2 << 30 // no eviction: measure what 1 M entries cost
		cfg.NumCounters = 10 * n
		cfg.Loader = LoaderFunc(func(_ context.Context, kind keys.Kind, id string) (*Entry, error) {
			return &Entry{Kind: kind, ID: id, Status: 302, Version: 1, TTL: time.Hour,
				Location: []byte("https://www.example.com/products/item-" + id + "?ref=sl")}, nil
		})
		c, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		var key [16]byte
		for j := 0; j < n; j++ {
			id := fmt.Appendf(key[:0], "c%06d", j)
			if _, _, err := c.Get(keys.KindLink, id); err != nil {
				b.Fatal(err)
			}
		}
		c.Wait()
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		heap := float64(after.HeapInuse-before.HeapInuse) / (1 << 20)
		b.ReportMetric(heap, "heap-MiB")
		b.ReportMetric(float64(c.Len()), "entries")
		b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/float64(max(1, c.Len())), "B/entry")
		c.Close()
	}
}
