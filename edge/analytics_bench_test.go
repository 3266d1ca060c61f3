package edge

import (
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// BenchmarkHitThroughputAnalytics measures redirect hits per second with
// analytics off and on, in the same run: two edges over one fake origin,
// measured in alternating rounds (off, on, on, off, ...) so that machine
// noise falls on both. Each round runs b.N hits per parallel worker
// (GOMAXPROCS workers, each with its own request carrying a browser's
// User-Agent and a Referer). It reports the median throughputs and
// on/off, the median of the rounds' on/off ratios (the target is >= 0.95),
// and on/off-cpu, the same with hits per CPU second of the process
// (Unix), which other processes on the machine do not distort.
//
//	go test -run '^$' -bench BenchmarkHitThroughputAnalytics -benchtime 200000x ./edge/
//	SHORTSTOCK_BENCH_ROUNDS=101 go test -run '^$' -bench BenchmarkHitThroughputAnalytics -benchtime 10000x -count 10 ./edge/
func BenchmarkHitThroughputAnalytics(b *testing.B) {
	o := newFakeOrigin(b)
	o.putLink("abc1234", "https://example.com/landing?utm=bench", 302)
	// SHORTSTOCK_BENCH_AA=1 runs analytics off on both edges: the spread of
	// its on/off shows what the machine's noise alone does to the ratio.
	aa := os.Getenv("SHORTSTOCK_BENCH_AA") == "1"
	servers := map[bool]*Server{}
	for _, on := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.Origins, cfg.Logger, cfg.HeadsPollInterval, cfg.Analytics = []string{o.url}, quietLogger(), 0, on && !aa
		s, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		servers[on] = s
	}
	workers := runtime.GOMAXPROCS(0)
	newCtx := func() *fasthttp.RequestCtx {
		ctx := &fasthttp.RequestCtx{}
		ctx.Request.Header.SetMethod("GET")
		ctx.Request.SetRequestURI("/abc1234")
		ctx.Request.Header.SetUserAgent(uaChromeWin)
		ctx.Request.Header.SetReferer("https://news.example.com/story?id=42")
		return ctx
	}
	round := func(s *Server, n int) (wall, cpu time.Duration) {
		h := s.Handler()
		ctxs := make([]*fasthttp.RequestCtx, workers)
		for i := range ctxs {
			ctxs[i] = newCtx()
			h(ctxs[i]) // fill, then hits only
		}
		var wg sync.WaitGroup
		cpu0, _ := processCPU()
		start := time.Now()
		for _, ctx := range ctxs {
			wg.Go(func() {
				for range n {
					ctx.Response.Reset()
					h(ctx)
				}
			})
		}
		wg.Wait()
		wall = time.Since(start)
		cpu1, _ := processCPU()
		return wall, cpu1 - cpu0
	}
	// More, shorter rounds (SHORTSTOCK_BENCH_ROUNDS, odd) pair each on
	// round with an off round closer in time: finer against drifting load.
	rounds := 21
	if v, err := strconv.Atoi(os.Getenv("SHORTSTOCK_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	var rates, cpuRates = map[bool][]float64{}, map[bool][]float64{}
	var ratios, cpuRatios []float64
	_, cpuOK := processCPU()
	n := b.N
	b.ResetTimer()
	for r := range rounds {
		order := []bool{false, true}
		if r%2 == 1 {
			order = []bool{true, false}
		}
		for _, on := range order {
			d, cpu := round(servers[on], n)
			rates[on] = append(rates[on], float64(n*workers)/d.Seconds())
			cpuRates[on] = append(cpuRates[on], float64(n*workers)/max(cpu.Seconds(), 1e-9))
		}
		// The ratio of neighbouring rounds cancels slow drifts of the
		// machine's load.
		ratios = append(ratios, rates[true][r]/rates[false][r])
		cpuRatios = append(cpuRatios, cpuRates[true][r]/cpuRates[false][r])
	}
	b.StopTimer()
	med := func(x []float64) float64 {
		x = slices.Clone(x)
		slices.Sort(x)
		return x[len(x)/2]
	}
	b.ReportMetric(med(rates[false]), "hits/s-off")
	b.ReportMetric(med(rates[true]), "hits/s-on")
	b.ReportMetric(med(ratios), "on/off")
	b.ReportMetric(med(rates[true])/med(rates[false]), "on/off-of-medians")
	if cpuOK {
		// Hits per CPU second of the process (the background loops of
		// both edges included, the classifier among them): what the
		// throughput would be with the cores to itself, which a shared
		// machine's wall clock cannot show.
		b.ReportMetric(med(cpuRatios), "on/off-cpu")
	}
	b.ReportMetric(0, "ns/op")
	an := servers[true].an
	if an == nil {
		return
	}
	an.consume.Lock()
	an.drain()
	an.consume.Unlock()
	b.ReportMetric(1/float64(an.sampleEvery.Load()), "sample-rate-end")
}
