package cache

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
)

// TestClicksConcurrentAddAndDrainLoseNothing adds clicks from several
// goroutines while another drains, and checks every click is drained
// exactly once.
func TestClicksConcurrentAddAndDrainLoseNothing(t *testing.T) {
	var c Clicks
	entries := make([]*Entry, 50)
	for i := range entries {
		entries[i] = render(keys.KindLink, "c"+itoa(i), 1, time.Minute)
	}
	const workers, per = 8, 20000
	var wg sync.WaitGroup
	var stop atomic.Bool
	total := map[string]int64{}
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for !stop.Load() {
			c.Drain(total)
		}
		c.Drain(total)
	}()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				c.Add(entries[(w*7+i)%len(entries)])
			}
		}()
	}
	wg.Wait()
	stop.Store(true)
	<-drained
	var sum int64
	for _, n := range total {
		sum += n
	}
	if sum != workers*per {
		t.Fatalf("drained %d clicks, added %d", sum, workers*per)
	}
	// Nothing left behind.
	rest := map[string]int64{}
	c.Drain(rest)
	if len(rest) != 0 {
		t.Fatalf("left after the final drain: %v", rest)
	}
}

func TestClickAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	var c Clicks
	e := render(keys.KindLink, "x", 1, time.Minute)
	if n := testing.AllocsPerRun(1000, func() { c.Add(e) }); n != 0 {
		t.Fatalf("Add allocates %v", n)
	}
}
