package bench

import (
	"context"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// The ramp keeps the highest rate the target sustained: a server that
// answers in 5 ms to 2 workers carries at most 400/s, so of 50, 100, 1000
// and 2000/s the ramp stops at 1000 (after trying it twice) and keeps 100.
func TestRampKeepsTheHighestRateSustained(t *testing.T) {
	if testing.Short() {
		t.Skip("runs load for a few seconds")
	}
	base := serve(t, func(ctx *fasthttp.RequestCtx) {
		time.Sleep(5 * time.Millisecond)
		fakeEdge(ctx)
	})
	edges, err := newHosts([]string{base}, 2)
	if err != nil {
		t.Fatal(err)
	}
	keys := newKeySet("t", 100, 10)
	r := &runner{
		cfg:     Config{Seed: 1, Timeout: time.Second, RampStep: time.Second},
		p:       Profile{ReadWorkers: 2, RampRates: []float64{50, 100, 1000, 2000}},
		keys:    keys,
		edges:   edges,
		readMix: &readMix{keys: keys, zipfS: 1.1, stockShare: 0.2, fresh: newFreshness(100, 10), bound: time.Second},
	}
	best, steps, err := r.ramp(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		t.Logf("%+v", s)
	}
	// 50 and 100 pass (a try or two each), 1000 fails both its tries.
	if n := len(steps); best != 100 || n < 4 || steps[n-1].Sustained || steps[n-2].Sustained || steps[n-1].OfferedRPS != 1000 {
		t.Errorf("best %v after %d steps, want 100 with 1000/s failing twice", best, n)
	}
}
