package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/shortstock/shortstock/edge/cache"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/testutil"
	"github.com/shortstock/shortstock/internal/wire"
)

// BenchmarkMemory1MLinks caches 1 M links the way an edge does: each entry
// rendered by the edge's loader from an answer shaped as the origin sends
// it (a 7-character code, a 45-byte URL), in a cache configured as New
// configures it for a budget that holds them all. It reports the memory
// they take (see measureFill), against the DESIGN target of 1 M cached
// links in under 300 MB resident per edge. Run it alone: the rss figures
// are the whole process's.
//
//	go test -run '^$' -bench Memory1MLinks -benchtime 1x ./edge/
func BenchmarkMemory1MLinks(b *testing.B) {
	const n = 1_000_000
	for i := 0; i < b.N; i++ {
		measureFill(b, n, func() *cache.Cache { return fillLinks(b, n) })
	}
}

// fillLinks loads n links into a cache as an edge with a budget for them
// would have it.
func fillLinks(b *testing.B, n int) *cache.Cache {
	cfg := DefaultConfig()
	cfg.fill()
	cfg.CacheBytes = 160 << 20 // 1 M links at ~143 B a link, and room
	l := &originLoader{negativeTTL: cfg.NegativeTTL}
	var resp fasthttp.Response
	var body bytes.Buffer
	enc := json.NewEncoder(&body) // reused: the fill's garbage is the edge's own, not the test's
	c, err := cache.New(cacheConfig(&cfg, cache.LoaderFunc(func(_ context.Context, kind keys.Kind, id string, minVersion uint64) (*cache.Entry, error) {
		resp.Reset()
		resp.SetStatusCode(fasthttp.StatusOK)
		resp.Header.Set(wire.HeaderVersion, "1")
		resp.Header.Set(wire.HeaderTTL, "3600000")
		resp.Header.SetContentTypeBytes(contentTypeJSON)
		body.Reset()
		body.WriteString("https://www.example.com/products/")
		body.WriteString(id)
		body.WriteString("?r=sl")
		url := body.String()
		body.Reset()
		if err := enc.Encode(wire.LinkRecord{Code: id, URL: url, Redirect: 302, Version: 1}); err != nil {
			return nil, err
		}
		resp.SetBody(body.Bytes())
		return l.render(kind, id, &resp)
	})))
	if err != nil {
		b.Fatal(err)
	}
	var id []byte
	for j := range n {
		id = strconv.AppendInt(append(id[:0], 'c'), int64(1_000_000+j), 10)
		id = append(id[:1], id[2:]...) // c000000 .. c999999
		if _, _, err := c.Get(keys.KindLink, id); err != nil {
			b.Fatal(err)
		}
	}
	return c
}

// measureFill runs fill, reports the memory the cache it returns takes,
// and closes it. The heap figures are the difference between the filled
// cache and none (closed and collected), so memory that the process
// frees or takes for other reasons meanwhile does not count; rss-MiB
// is the whole process after a GC, the fill's garbage not yet returned to
// the OS included, rss-min-MiB after returning all of it (what an edge
// approaches with GOMEMLIMIT set).
func measureFill(b *testing.B, want int, fill func() *cache.Cache) {
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
