package cache

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/slicer"
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
	var returned int64 // the sums Drain returned
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		var sl slicer.Slicer
		for !stop.Load() {
			returned += c.Drain(total, &sl)
		}
		returned += c.Drain(total, &sl)
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
	if returned != sum {
		t.Fatalf("Drain returned %d clicks in all, put %d in the map", returned, sum)
	}
	// Nothing left behind.
	rest := map[string]int64{}
	c.Drain(rest, &slicer.Slicer{})
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

// A drain allocates nothing per code: its keys share the entries' bytes.
// A busy edge drains tens of thousands of codes a second, and a string
// copy of each was most of what it allocated while serving.
func TestDrainAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	var c Clicks
	entries := make([]*Entry, 1000)
	for i := range entries {
		entries[i] = render(keys.KindLink, "d"+itoa(i), 1, time.Minute)
	}
	into := make(map[string]int64, 2*len(entries))
	var sl slicer.Slicer
	var drained int64
	n := testing.AllocsPerRun(20, func() {
		for _, e := range entries {
			c.Add(e)
		}
		drained += c.Drain(into, &sl)
		if len(into) != len(entries) || into["d7"] != 1 {
			t.Fatalf("drained %d codes (d7: %d), want %d codes of one click", len(into), into["d7"], len(entries))
		}
		clear(into)
	})
	if n != 0 {
		t.Fatalf("a drain of %d codes allocates %v times, want 0", len(entries), n)
	}
	if drained != 21*int64(len(entries)) {
		t.Fatalf("drained %d clicks, want %d", drained, 21*len(entries))
	}
}

// A drain over many entries runs in slices: it pauses (see package
// slicer) rather than holding the processor for the whole walk, and loses
// nothing by it.
func TestDrainRunsInSlices(t *testing.T) {
	var c Clicks
	const n = 20000
	for i := range n {
		c.Add(render(keys.KindLink, "s"+itoa(i), 1, time.Minute))
	}
	into := map[string]int64{}
	sl := slicer.Slicer{Work: time.Nanosecond, Pause: time.Nanosecond}
	if total := c.Drain(into, &sl); total != n || len(into) != n {
		t.Fatalf("drained %d clicks on %d codes, want %d on %d", total, len(into), n, n)
	}
	if sl.Pauses == 0 {
		t.Fatalf("a drain of %d entries never paused", n)
	}
}
