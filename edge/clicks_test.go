package edge

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/wire"
)

// TestClicksFlushedAndNeverLost counts clicks at the edge, flushes them,
// keeps them through a failed flush (origin down), and sends the rest on
// Shutdown. HEADs and 404s are not clicks.
func TestClicksFlushedAndNeverLost(t *testing.T) {
	o := newFakeOrigin(t)
	o.putLink("c1", "https://example.com/1", 302)
	o.putLink("c2", "https://example.com/2", 301)
	e := newTestEdge(t, []string{o.url})
	for range 10 {
		e.get("/c1")
	}
	for range 3 {
		e.get("/c2")
		e.do("HEAD", "/c2")
		e.get("/nope")
	}
	eventually(t, 2*time.Second, func() string {
		if a, b := o.clickCount("c1"), o.clickCount("c2"); a != 10 || b != 3 {
			return fmt.Sprintf("clicks at origin c1=%d c2=%d, want 10 and 3", a, b)
		}
		return ""
	})
	if n := o.clickCount("nope"); n != 0 {
		t.Fatalf("a 404 counted %d clicks", n)
	}

	// Origin refuses batches: the counts wait at the edge.
	o.failAll.Store(true)
	for range 5 {
		e.get("/c1") // cached: still served
	}
	time.Sleep(200 * time.Millisecond) // several failed flushes
	if n := o.clickCount("c1"); n != 10 {
		t.Fatalf("c1 = %d while the origin refused", n)
	}
	o.failAll.Store(false)
	eventually(t, 2*time.Second, func() string {
		if n := o.clickCount("c1"); n != 15 {
			return fmt.Sprintf("c1 = %d after the origin came back, want 15", n)
		}
		return ""
	})
}

func TestShutdownFlushesClicks(t *testing.T) {
	o := newFakeOrigin(t)
	o.putLink("last", "https://example.com/", 302)
	e := newTestEdge(t, []string{o.url}, func(c *Config) { c.ClickFlushInterval = time.Hour })
	for range 7 {
		e.get("/last")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := o.clickCount("last"); n != 7 {
		t.Fatalf("clicks after Shutdown = %d, want 7", n)
	}
	if err := <-e.served; err != nil {
		t.Fatalf("Serve returned %v after Shutdown, want nil", err)
	}
	// Idempotent, and Serve refuses afterwards.
	if err := e.srv.Close(); err != nil {
		t.Fatalf("Close after Shutdown: %v", err)
	}
	if err := e.srv.Serve(e.ln); err != ErrClosed {
		t.Fatalf("Serve after Shutdown: %v, want ErrClosed", err)
	}
}

// TestClickBatchIsValidWireJSON: the hand-written batch decodes as a
// wire.ClickBatch, odd node names and codes included.
func TestClickBatchIsValidWireJSON(t *testing.T) {
	b := clickBatchHead("edge \"1\"\n")
	b = appendClick(b, "abc", 3)
	b = append(b, ',')
	b = appendClick(b, "we\"ird", 1<<40)
	b = append(b, "}}"...)
	var got wire.ClickBatch
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if got.Edge != "edge \"1\"\n" || got.Counts["abc"] != 3 || got.Counts["we\"ird"] != 1<<40 || len(got.Counts) != 2 {
		t.Fatalf("decoded %+v from %s", got, b)
	}
}

// TestLargeClickFlushIsSplit: more codes than one batch holds go in
// several batches, all delivered.
func TestLargeClickFlushIsSplit(t *testing.T) {
	o := newFakeOrigin(t)
	e := newTestEdge(t, []string{o.url}, func(c *Config) {
		c.ClickFlushInterval = time.Hour
		// A full batch under -race on a loaded machine can take longer
		// than the helper's 500 ms; a timed-out batch is kept, not split.
		c.OriginTimeout = 10 * time.Second
	})
	const n = 2*maxCodesPerBatch + 5
	e.srv.clickMu.Lock()
	for i := range n {
		e.srv.pendingClicks[fmt.Sprintf("k%d", i)] = int64(i%3 + 1)
	}
	e.srv.clickMu.Unlock()
	e.srv.flushClicks(context.Background())
	if got := o.count(wire.PathClicks); got != 3 {
		t.Fatalf("%d batches, want 3", got)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.clicks) != n || o.clicks["k4"] != 2 {
		t.Fatalf("origin has %d codes (k4=%d), want %d", len(o.clicks), o.clicks["k4"], n)
	}
}

// A click batch is built in the last one's buffers: a busy edge sends
// megabytes of batches a second, and fresh buffers for each were garbage
// that drove the collector under the edge's memory limit.
func TestClickBatchAllocatesNoBuffers(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	o := newFakeOrigin(t)
	e := newTestEdge(t, []string{o.url}, func(c *Config) { c.ClickFlushInterval = time.Hour })
	s := e.srv
	codes := make([]string, 2000)
	for i := range codes {
		codes[i] = fmt.Sprintf("code%05d", i)
	}
	s.clickMu.Lock()
	defer s.clickMu.Unlock()
	fill := func() {
		for _, c := range codes {
			s.pendingClicks[c] = 3
		}
	}
	fill()
	first := s.nextBatch(false)
	var cb wire.ClickBatch
	if err := json.Unmarshal(first.body, &cb); err != nil {
		t.Fatalf("batch body: %v", err)
	}
	if len(cb.Counts) != len(codes) || cb.Counts["code01999"] != 3 || first.total != 3*int64(len(codes)) {
		t.Fatalf("batch has %d codes (code01999: %d), total %d; want %d codes of 3 clicks", len(cb.Counts), cb.Counts["code01999"], first.total, len(codes))
	}
	// Building a batch of 2000 codes in fresh buffers took 25 allocations
	// as they grew; in the last batch's buffers it takes the batch record
	// and its id. Counted around nextBatch alone (the refill of the
	// pending map allocates as the map rehashes), as AllocsPerRun does.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const runs = 20
	var before, after runtime.MemStats
	var mallocs uint64
	for range runs {
		fill()
		runtime.ReadMemStats(&before)
		s.nextBatch(false)
		runtime.ReadMemStats(&after)
		mallocs += after.Mallocs - before.Mallocs
	}
	if n := mallocs / runs; n > 2 {
		t.Fatalf("a batch of %d codes allocates %d times, want at most 2", len(codes), n)
	}
}

// While the origin refuses the batch in flight, new counts stay in the
// cached entries instead of piling up in the pending map: an edge serving
// uniform traffic over 1 M links to a starved origin held a map entry for
// every code clicked meanwhile (37 MB of live heap twelve seconds into a
// run). Once the origin takes the batch, the counts follow, none lost.
func TestRefusedFlushLeavesCountsInTheEntries(t *testing.T) {
	o := newFakeOrigin(t)
	const n = 50
	for i := range n {
		o.putLink(fmt.Sprintf("p%02d", i), "https://example.com/", 302)
	}
	e := newTestEdge(t, []string{o.url}, func(c *Config) { c.ClickFlushInterval = time.Hour })
	for i := range n {
		e.do("HEAD", fmt.Sprintf("/p%02d", i)) // cached, not clicked
	}
	o.failAll.Store(true)
	e.get("/p00")
	e.srv.flushClicks(context.Background()) // refused: p00's batch waits, frozen
	for i := range n {
		e.get(fmt.Sprintf("/p%02d", i))
	}
	for range 3 {
		e.srv.flushClicks(context.Background())
		e.srv.clickMu.Lock()
		pending, inflight := len(e.srv.pendingClicks), e.srv.inflight != nil
		e.srv.clickMu.Unlock()
		if pending != 0 || !inflight {
			t.Fatalf("origin refusing: %d codes drained into the pending map (batch in flight: %v), want 0 and the first batch waiting", pending, inflight)
		}
	}
	o.failAll.Store(false)
	e.srv.flushClicks(context.Background())
	if a, b := o.clickCount("p00"), o.clickCount("p49"); a != 2 || b != 1 {
		t.Fatalf("after the origin came back: p00=%d p49=%d, want 2 and 1", a, b)
	}
}
