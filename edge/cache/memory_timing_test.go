package cache

import (
	"context"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/testutil"
)

// linkAnswer is a redirect as a link shortener stores it: a 7-character
// code and a 45-byte URL.
func linkAnswer(kind keys.Kind, id string) Answer {
	return Answer{Kind: kind, ID: id, Status: 302, Version: 1, TTL: time.Hour,
		Location: "https://www.example.com/products/" + id + "?r=sl"}
}

// linkID appends the code of link j (below a million) to b: 7 characters.
func linkID(b []byte, j int) []byte {
	b = append(b, 'c')
	for d := 100000; d > 0; d /= 10 {
		b = append(b, byte('0'+j/d%10))
	}
	return b
}

// fillLinks builds a cache sized for budgetLinks links and loads n of
// them (n <= budgetLinks: nothing is evicted).
func fillLinks(tb testing.TB, n, budgetLinks int) *Cache {
	tb.Helper()
	cfg := DefaultConfig()
	// A budget for budgetLinks typical links and a quarter more; the
	// bucket count and the counters are what it implies.
	cfg.MaxCostBytes = int64(budgetLinks) * typicalEntryCost(cfg.KeysPerItem) * 5 / 4
	cfg.Loader = LoaderFunc(func(_ context.Context, kind keys.Kind, id string, minVersion uint64) (*Entry, error) {
		return NewEntry(linkAnswer(kind, id))
	})
	c, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	var id [16]byte
	for j := range n {
		if _, _, err := c.Get(keys.KindLink, linkID(id[:0], j)); err != nil {
			tb.Fatal(err)
		}
	}
	c.Wait()
	return c
}

// BenchmarkMemory1MLinks fills a cache with 1 M link redirects and reports
// the memory they take (see measureFill), against the DESIGN target of 1 M
// cached links in under 300 MB resident per edge. The edge package's
// benchmark of the same name renders the entries from origin answers.
//
//	go test -run '^$' -bench Memory1MLinks -benchtime 1x ./edge/cache/
func BenchmarkMemory1MLinks(b *testing.B) {
	const n = 1_000_000
	for i := 0; i < b.N; i++ {
		measureFill(b, n, func() *Cache { return fillLinks(b, n, n) })
	}
}

// BenchmarkMemorySparse caches 100 K links in a budget for 1 M: most
// buckets hold one link, which then pays for a ristretto item alone.
//
//	go test -run '^$' -bench MemorySparse -benchtime 1x ./edge/cache/
func BenchmarkMemorySparse(b *testing.B) {
	const n = 100_000
	for i := 0; i < b.N; i++ {
		measureFill(b, n, func() *Cache { return fillLinks(b, n, 10*n) })
	}
}

// measureFill runs fill, reports the memory the cache it returns takes,
// and closes it. The heap figures are the difference between the filled
// cache and none (closed and collected), so memory that the process
// frees or takes for other reasons meanwhile does not count; rss-MiB
// is the whole process after a GC, the fill's garbage not yet returned to
// the OS included, rss-min-MiB after returning all of it (what an edge
// approaches with GOMEMLIMIT set).
func measureFill(b *testing.B, want int, fill func() *Cache) {
	b.Helper()
	testutil.SettleHeap()
	rssBefore := testutil.ResidentBytes(b)
	c := fill()
	c.Wait()
	var full, empty runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&full)
	rss := testutil.ResidentBytes(b)
	debug.FreeOSMemory()
	rssMin := testutil.ResidentBytes(b)
	entries := c.Len()
	cost := c.Cost()
	c.Close() // and c is dead: the next collection takes it all
	testutil.SettleHeap()
	runtime.ReadMemStats(&empty)
	if entries != want {
		b.Fatalf("%d entries cached, want %d", entries, want)
	}
	heap := float64(full.HeapInuse - empty.HeapInuse)
	b.ReportMetric(heap/(1<<20), "heap-MiB")
	b.ReportMetric(float64(full.HeapAlloc-empty.HeapAlloc)/(1<<20), "live-MiB")
	b.ReportMetric(heap/float64(entries), "B/entry")
	b.ReportMetric(float64(cost)/float64(entries), "cost-B/entry")
	b.ReportMetric(float64(rss)/(1<<20), "rss-MiB")
	b.ReportMetric(float64(rssMin)/(1<<20), "rss-min-MiB")
	b.ReportMetric(float64(rssBefore)/(1<<20), "rss-before-MiB")
}

// BenchmarkGetHit1M reads random keys of a cache holding 1 M links: unlike
// BenchmarkGetHit, whose one entry stays in the CPU cache, a hit here pays
// for the memory it touches.
func BenchmarkGetHit1M(b *testing.B) {
	const n = 1_000_000
	c := fillLinks(b, n, n)
	defer c.Close()
	// The ids back to back in one array, in a random order.
	const idLen = 7
	ids := make([]byte, 0, n*idLen)
	for _, j := range rand.Perm(n) {
		ids = linkID(ids, j)
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, st, _ := c.Get(keys.KindLink, ids[i*idLen:(i+1)*idLen]); st != Hit {
			b.Fatal("not a hit")
		}
		if i++; i == n {
			i = 0
		}
	}
}
