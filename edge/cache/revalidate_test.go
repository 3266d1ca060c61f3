package cache

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/clock"
	"github.com/shortstock/shortstock/internal/keys"
)

// bumpingOrigin answers every Load with a new version and remembers when
// (on the cache's clock) it made each one, so a test can tell how old any
// answer is.
type bumpingOrigin struct {
	clk   *clock.Fake
	ttl   time.Duration
	delay time.Duration
	down  atomic.Bool
	calls atomic.Int64
	mu    sync.Mutex
	made  map[uint64]time.Time
}

func (o *bumpingOrigin) Load(ctx context.Context, kind keys.Kind, id string, _ uint64) (*Entry, error) {
	n := uint64(o.calls.Add(1))
	if o.delay > 0 {
		time.Sleep(o.delay)
	}
	if o.down.Load() {
		return nil, errDown
	}
	o.mu.Lock()
	o.made[n] = o.clk.Now()
	o.mu.Unlock()
	return render(kind, id, n, o.ttl), nil
}

func (o *bumpingOrigin) madeAt(v uint64) time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.made[v]
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestRevalidateOneFetchPerRevalidation: a hot key past its TTL is served
// at once by every concurrent request while exactly one origin fetch runs,
// and no answer is ever older than TTL + RevalidateWindow.
func TestRevalidateOneFetchPerRevalidation(t *testing.T) {
	const ttl, window = time.Second, 2 * time.Second
	o := &bumpingOrigin{ttl: ttl, delay: 5 * time.Millisecond, made: map[uint64]time.Time{}}
	c, clk := newTestCache(t, o, func(cfg *Config) { cfg.RevalidateWindow = window })
	o.clk = clk
	const id = "hot"
	mustGet(t, c, keys.KindLink, id)

	check := func(e *Entry, st State, at time.Time) string {
		if age := at.Sub(o.madeAt(e.Version())); age > ttl+window {
			return "an answer " + age.String() + " old, past the hard bound"
		}
		if st == Miss || st == Stale {
			return "state " + st.String() + " while revalidating"
		}
		return ""
	}
	for round := range 8 {
		before := o.calls.Load()
		// Into the window: the entry's TTL is over, its hard bound is not.
		clk.Advance(ttl + window/2)
		now := clk.Now()
		var wg sync.WaitGroup
		var bad atomic.Value
		var revalidating atomic.Int64
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 300 {
					e, st, err := c.GetAt(keys.KindLink, []byte(id), now)
					if err != nil {
						bad.Store(err.Error())
						return
					}
					if st == Revalidating {
						revalidating.Add(1)
					}
					if msg := check(e, st, now); msg != "" {
						bad.Store(msg)
					}
				}
			}()
		}
		wg.Wait()
		if msg := bad.Load(); msg != nil {
			t.Fatalf("round %d: %v", round, msg)
		}
		if revalidating.Load() == 0 {
			t.Fatalf("round %d: no answer was served while revalidating", round)
		}
		waitFor(t, "the background refresh", func() bool { return o.calls.Load() > before })
		c.Wait()
		// Everything settled: the refreshed entry is served.
		waitFor(t, "the refreshed entry", func() bool {
			_, st, _ := c.GetAt(keys.KindLink, []byte(id), now)
			return st == Hit
		})
		if n := o.calls.Load() - before; n != 1 {
			t.Fatalf("round %d: %d origin fetches for one revalidation, want exactly 1", round, n)
		}
	}

	// A request that looked the entry up just before its refresh landed
	// and gets to revalidate only after the refresh ended must not fetch
	// again (singleflight alone would let it).
	clk.Advance(ttl + window/2)
	now := clk.Now()
	old := c.lookup(keys.KindLink, []byte(id), hashKey(keys.KindLink, id), now.UnixNano())
	before := o.calls.Load()
	if _, st, _ := c.GetAt(keys.KindLink, []byte(id), now); st != Revalidating {
		t.Fatalf("state %v, want Revalidating", st)
	}
	waitFor(t, "the refresh", func() bool { return o.calls.Load() > before })
	c.Wait()
	waitFor(t, "the refreshed entry", func() bool {
		_, st, _ := c.GetAt(keys.KindLink, []byte(id), now)
		return st == Hit
	})
	if !c.revalidate(old, keys.KindLink, []byte(id), now.UnixNano()) {
		t.Fatal("late request not served")
	}
	time.Sleep(20 * time.Millisecond) // a second fetch, if one started, would be counted by now
	c.Wait()
	if n := o.calls.Load() - before; n != 1 {
		t.Fatalf("a late request on the old entry started fetch #%d", n)
	}

	// Past the hard bound nothing old is served: the request waits.
	clk.Advance(ttl + window + time.Millisecond)
	before = o.calls.Load()
	e, st, err := c.Get(keys.KindLink, []byte(id))
	if err != nil || st != Miss || o.calls.Load() != before+1 {
		t.Fatalf("past TTL + window: state %v err %v, %d fetches; want a Miss that waited for 1", st, err, o.calls.Load()-before)
	}
	if age := clk.Now().Sub(o.madeAt(e.Version())); age != 0 {
		t.Fatalf("past the hard bound: answer %v old", age)
	}
}

// TestRevalidateOriginDown: the one refresh fails; from then on the entry
// is served as Stale (stale-if-error), not as revalidating.
func TestRevalidateOriginDown(t *testing.T) {
	o := &bumpingOrigin{ttl: time.Second, made: map[uint64]time.Time{}}
	c, clk := newTestCache(t, o, func(cfg *Config) { cfg.RevalidateWindow = 5 * time.Second })
	o.clk = clk
	mustGet(t, c, keys.KindLink, "k")
	o.down.Store(true)
	clk.Advance(2 * time.Second)
	if _, st, err := c.Get(keys.KindLink, []byte("k")); err != nil || st != Revalidating {
		t.Fatalf("first answer past the TTL: %v %v, want Revalidating", st, err)
	}
	waitFor(t, "the failed refresh", func() bool { return c.Stats().LoadErrors.Load() == 1 })
	if _, st, err := c.Get(keys.KindLink, []byte("k")); err != nil || st != Stale {
		t.Fatalf("after the refresh failed: %v %v, want Stale", st, err)
	}
}

// TestSoftAndHardPurge: a soft purge serves the entry once more while one
// refresh runs, then the new version; a hard purge makes the next request
// wait for the origin; with no window a soft purge is a hard one.
func TestSoftAndHardPurge(t *testing.T) {
	o := &bumpingOrigin{ttl: time.Hour, made: map[uint64]time.Time{}}
	c, clk := newTestCache(t, o, func(cfg *Config) { cfg.RevalidateWindow = 5 * time.Second })
	o.clk = clk
	mustGet(t, c, keys.KindLink, "p")
	if !c.SoftPurge(keys.KindLink, "p") {
		t.Fatal("SoftPurge found nothing cached")
	}
	e, st, err := c.Get(keys.KindLink, []byte("p"))
	if err != nil || st != Revalidating || e.Version() != 1 {
		t.Fatalf("after a soft purge: v%d %v %v, want v1 Revalidating", e.Version(), st, err)
	}
	waitFor(t, "the refresh", func() bool { return o.calls.Load() == 2 })
	waitFor(t, "the refreshed entry", func() bool {
		c.Wait()
		e, st, _ := c.Get(keys.KindLink, []byte("p"))
		return st == Hit && e.Version() == 2
	})
	if o.calls.Load() != 2 {
		t.Fatalf("%d fetches after one soft purge, want 2 (fill + one refresh)", o.calls.Load())
	}
	// The soft-purged copy lives no longer than the window.
	c.SoftPurge(keys.KindLink, "p")
	o.down.Store(true)
	clk.Advance(5*time.Second + time.Millisecond)
	if _, st, _ := c.Get(keys.KindLink, []byte("p")); st == Revalidating || st == Hit {
		t.Fatalf("soft-purged entry past its window answered %v", st)
	}
	o.down.Store(false)

	c.Purge(keys.KindLink, "p")
	c.Wait()
	before := o.calls.Load()
	if _, st, _ := c.Get(keys.KindLink, []byte("p")); st != Miss || o.calls.Load() != before+1 {
		t.Fatalf("after a hard purge: %v, %d fetches", st, o.calls.Load()-before)
	}

	c2, clk2 := newTestCache(t, o, func(cfg *Config) { cfg.RevalidateWindow = 0 })
	o.clk = clk2
	mustGet(t, c2, keys.KindLink, "q")
	c2.SoftPurge(keys.KindLink, "q")
	c2.Wait()
	if _, st, _ := c2.Get(keys.KindLink, []byte("q")); st != Miss {
		t.Fatalf("soft purge without a window: %v, want Miss", st)
	}
}
