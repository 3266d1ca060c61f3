package edge

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/shortstock/shortstock/internal/clock"
)

// BenchmarkAnalyticsOffer is what analytics adds to one redirect hit
// under load (sampling at its bound, the worker keeping up): the sampling
// draw, and for the few clicks it takes, the copy into the ring.
//
//	go test -run '^$' -bench BenchmarkAnalyticsOffer ./edge/
func BenchmarkAnalyticsOffer(b *testing.B) {
	a := newAnalytics(4096, 20000, newClassifier(nil), clock.Real{})
	a.sampleEvery.Store(maxSampleEvery)
	code := []byte("abc1234")
	b.RunParallel(func(pb *testing.PB) {
		ctx := &fasthttp.RequestCtx{}
		ctx.Request.Header.SetUserAgent(uaChromeWin)
		ctx.Request.Header.SetReferer("https://news.example.com/story?id=42")
		now := clock.Real{}.Now()
		for pb.Next() {
			now = now.Add(300) // hits some 300ns apart, as under load
			a.offer(ctx, code, now)
		}
	})
	b.StopTimer()
	a.consume.Lock()
	a.drain()
	a.consume.Unlock()
	b.ReportMetric(float64(a.classified)/float64(b.N), "taken/op")
}

// TestSampleDrawIsOneInN: the hit path's sampling draw takes one click in
// n, for request IDs in sequence, for times in sequence, and, for a click
// that looks the same every time (a fake clock, one request ID), over the
// worker's seeds: such a click is not always in or always out.
func TestSampleDrawIsOneInN(t *testing.T) {
	const draws = 1 << 20
	for _, n := range []uint64{2, 8, 64, maxSampleEvery} {
		streams := map[string]func(i uint64) (x, seed uint64){
			"request IDs":   func(i uint64) (uint64, uint64) { return 7<<32 | i, 0x1234 },
			"times 300ns":   func(i uint64) (uint64, uint64) { return 1_800_000_000_000_000_000 + 300*i, 99 },
			"one x, seeded": func(i uint64) (uint64, uint64) { return 42, i * 0x2545F4914F6CDD1D },
		}
		for name, stream := range streams {
			var took float64
			for i := range uint64(draws) {
				if x, seed := stream(i); sampleDraw(x, seed, n) {
					took++
				}
			}
			want := float64(draws) / float64(n)
			if took < want*0.9 || took > want*1.1 {
				t.Errorf("n=%d, %s: took %.0f of %d, want about %.0f", n, name, took, draws, want)
			}
		}
	}
}
