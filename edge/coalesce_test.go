package edge

import (
	"sync"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/wire"
)

// TestThousandConcurrentMissesOneOriginCall sends 1000 concurrent requests
// for one uncached code through real HTTP; the origin must see one fetch.
func TestThousandConcurrentMissesOneOriginCall(t *testing.T) {
	o := newFakeOrigin(t)
	o.delay = 200 * time.Millisecond // the fill stays in flight while all requests arrive
	o.putLink("herd", "https://example.com/herd", 302)
	e := newTestEdge(t, []string{o.url}, func(c *Config) { c.OriginTimeout = 5 * time.Second })

	const n = 1000
	var wg sync.WaitGroup
	start := make(chan struct{})
	results := make(chan answer, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results <- e.get("/herd")
		}()
	}
	close(start)
	wg.Wait()
	close(results)
	states := map[string]int{}
	for a := range results {
		if a.status != 302 || a.loc != "https://example.com/herd" {
			t.Fatalf("answer %+v", a)
		}
		states[a.cache]++
	}
	if got := o.count(wire.PathLinks + "herd"); got != 1 {
		t.Fatalf("%d concurrent misses made %d origin calls, want 1 (states %v)", n, got, states)
	}
	t.Logf("X-Cache states: %v", states)
}
