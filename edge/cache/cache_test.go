package cache

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
)

func TestHitServesCachedEntry(t *testing.T) {
	o := newFakeOrigin()
	o.set(keys.KindLink, "abc", 3)
	c, _ := newTestCache(t, o)
	e, st := mustGet(t, c, keys.KindLink, "abc")
	if st != Miss || e.Version() != 3 || string(e.VersionBytes()) != "3" || e.Status() != 302 {
		t.Fatalf("first Get: %v %+v", st, e)
	}
	e2, st, err := c.Get(keys.KindLink, []byte("abc"))
	if err != nil || st != Hit || e2 != e {
		t.Fatalf("second Get: %v %v, same entry %v", st, err, e2 == e)
	}
	if o.calls.Load() != 1 {
		t.Fatalf("origin calls = %d, want 1", o.calls.Load())
	}
	// A SKU with the same id is another key.
	o.set(keys.KindStock, "abc", 9)
	if e, _ := mustGet(t, c, keys.KindStock, "abc"); e.Version() != 9 || e.Status() != 200 {
		t.Fatalf("stock abc: %+v", e)
	}
}

func TestHitAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	o := newFakeOrigin()
	o.set(keys.KindLink, "abc", 1)
	o.set(keys.KindStock, "SKU-1", 1)
	c, _ := newTestCache(t, o)
	mustGet(t, c, keys.KindLink, "abc")
	mustGet(t, c, keys.KindStock, "SKU-1")
	code, sku := []byte("abc"), []byte("SKU-1")
	n := testing.AllocsPerRun(10000, func() {
		if _, st, _ := c.Get(keys.KindLink, code); st != Hit {
			t.Fatal("not a hit")
		}
		if _, st, _ := c.Get(keys.KindStock, sku); st != Hit {
			t.Fatal("not a hit")
		}
	})
	if n != 0 {
		t.Fatalf("a hit allocates %v times, want 0", n)
	}
}

func TestConcurrentMissesShareOneLoad(t *testing.T) {
	o := newFakeOrigin()
	o.delay = 50 * time.Millisecond // keep the first load in flight while the others arrive
	o.set(keys.KindLink, "herd", 1)
	c, _ := newTestCache(t, o)
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, 1000)
	for range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			e, _, err := c.Get(keys.KindLink, []byte("herd"))
			if err == nil && e.Version() != 1 {
				err = errors.New("wrong version")
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := o.calls.Load(); got != 1 {
		t.Fatalf("1000 concurrent misses made %d origin calls, want 1", got)
	}
}

// A request that missed just before another request's fill was installed
// reaches the singleflight group after that flight ended: it must be
// answered from the cache, not by a second origin lookup (the faults
// suite's herd saw 2 lookups for 200 misses before load looked again).
func TestMissAfterFlightEndedIsServedFromCache(t *testing.T) {
	o := newFakeOrigin()
	o.set(keys.KindLink, "herd", 1)
	c, _ := newTestCache(t, o)
	now := c.cfg.Clock.Now().UnixNano()
	if e := c.lookup(keys.KindLink, []byte("herd"), hashKey(keys.KindLink, "herd"), now); e != nil {
		t.Fatal("cached before any load")
	}
	// The first request's miss is complete: its flight filled the cache.
	if _, st, err := c.Get(keys.KindLink, []byte("herd")); err != nil || st != Miss {
		t.Fatalf("first get: %v %v", st, err)
	}
	// The late request saw the miss before that and now takes the slow path.
	e, st, err := c.slow(keys.KindLink, []byte("herd"), nil, now)
	if err != nil || e.Version() != 1 || st != Miss {
		t.Fatalf("late miss: %v %v %v", e, st, err)
	}
	if got := o.calls.Load(); got != 1 {
		t.Fatalf("a miss that arrived after the flight ended made %d origin calls, want 1", got)
	}
}

func TestStaleIfErrorThenRecover(t *testing.T) {
	o := newFakeOrigin()
	o.ttl = 10 * time.Second
	o.set(keys.KindStock, "S", 1)
	c, clk := newTestCache(t, o, func(c *Config) { c.StaleGrace = time.Minute })
	mustGet(t, c, keys.KindStock, "S")

	o.down.Store(true)
	clk.Advance(11 * time.Second) // past TTL, within grace
	e, st, err := c.Get(keys.KindStock, []byte("S"))
	if err != nil || st != Stale || e.Version() != 1 {
		t.Fatalf("past TTL with the origin down: %v %v %+v, want the stale entry", st, err, e)
	}
	// An uncached key has nothing to fall back on.
	if _, _, err := c.Get(keys.KindStock, []byte("T")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("uncached key with the origin down: %v, want ErrUnavailable", err)
	}
	clk.Advance(time.Minute) // past the grace period
	if _, _, err := c.Get(keys.KindStock, []byte("S")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("past the grace period: %v, want ErrUnavailable", err)
	}

	o.down.Store(false)
	o.set(keys.KindStock, "S", 2)
	e, st, err = c.Get(keys.KindStock, []byte("S"))
	if err != nil || st != Miss || e.Version() != 2 {
		t.Fatalf("origin back: %v %v %+v, want fresh version 2", st, err, e)
	}
}

func TestStaleAnswersAtOnceWhileOriginDown(t *testing.T) {
	o := newFakeOrigin()
	o.ttl = time.Second
	o.set(keys.KindLink, "x", 1)
	c, clk := newTestCache(t, o, func(c *Config) { c.LoadTimeout = 300 * time.Millisecond; c.RetryBackoff = time.Hour })
	mustGet(t, c, keys.KindLink, "x")
	o.down.Store(true)
	o.hang.Store(true)
	clk.Advance(2 * time.Second)
	// The first stale request learns that the origin hangs.
	if _, st, _ := c.Get(keys.KindLink, []byte("x")); st != Stale {
		t.Fatalf("state %v, want STALE", st)
	}
	// Later ones do not wait for it.
	start := time.Now()
	for range 100 {
		if _, st, _ := c.Get(keys.KindLink, []byte("x")); st != Stale {
			t.Fatalf("state %v, want STALE", st)
		}
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Fatalf("100 stale answers took %v: they waited for a hung origin", d)
	}
}

func TestNegativeEntrySupersededByInvalidate(t *testing.T) {
	o := newFakeOrigin()
	c, _ := newTestCache(t, o)
	e, _ := mustGet(t, c, keys.KindLink, "new")
	if !e.Negative() || e.Status() != 404 || e.Version() != 0 {
		t.Fatalf("unknown code: %+v", e)
	}
	if _, st, _ := c.Get(keys.KindLink, []byte("new")); st != Hit {
		t.Fatalf("the 404 is not cached: %v", st)
	}
	o.set(keys.KindLink, "new", 1) // created
	if !c.Invalidate(keys.KindLink, "new", 1) {
		t.Fatal("Invalidate to version 1 was not news")
	}
	e, st, err := c.Get(keys.KindLink, []byte("new"))
	if err != nil || st != Miss || e.Negative() || e.Version() != 1 {
		t.Fatalf("after create: %v %v %+v", st, err, e)
	}
}

func TestInvalidateIsIdempotent(t *testing.T) {
	o := newFakeOrigin()
	o.set(keys.KindLink, "a", 2)
	c, _ := newTestCache(t, o)
	mustGet(t, c, keys.KindLink, "a")
	// An invalidation for a version we already hold drops nothing.
	if c.Invalidate(keys.KindLink, "a", 2); c.Peek(keys.KindLink, "a") == nil {
		t.Fatal("invalidation to the cached version dropped the entry")
	}
	o.set(keys.KindLink, "a", 3)
	if !c.Invalidate(keys.KindLink, "a", 3) || c.Invalidate(keys.KindLink, "a", 3) || c.Invalidate(keys.KindLink, "a", 1) {
		t.Fatal("replays and older versions must not count as news")
	}
	if c.Peek(keys.KindLink, "a") != nil {
		t.Fatal("version 2 still served after an invalidation to 3")
	}
	if st := c.Stats(); st.Invalidations.Load() != 2 || st.InvalidationsRefused.Load() != 2 {
		t.Fatalf("applied %d refused %d", st.Invalidations.Load(), st.InvalidationsRefused.Load())
	}
}

func TestFillOlderThanFloorIsRefused(t *testing.T) {
	o := newFakeOrigin()
	o.set(keys.KindStock, "lag", 4) // a lagging origin
	c, _ := newTestCache(t, o)
	c.Invalidate(keys.KindStock, "lag", 5)
	if _, _, err := c.Get(keys.KindStock, []byte("lag")); !errors.Is(err, ErrRefused) {
		t.Fatalf("fill of v4 after an invalidation to v5: %v, want ErrRefused", err)
	}
	if c.Peek(keys.KindStock, "lag") != nil {
		t.Fatal("the refused version was cached")
	}
	o.set(keys.KindStock, "lag", 5)
	if e, _ := mustGet(t, c, keys.KindStock, "lag"); e.Version() != 5 {
		t.Fatalf("got v%d", e.Version())
	}
}

func TestLateSetOlderThanFloorIsNotServed(t *testing.T) {
	o := newFakeOrigin()
	c, _ := newTestCache(t, o)
	// Simulate ristretto applying a buffered Set after the invalidation's
	// Del: install v1 behind the floor's back.
	c.Invalidate(keys.KindLink, "late", 2)
	e := render(keys.KindLink, "late", 1, time.Minute)
	e.seal(c.cfg.Clock.Now(), c.cfg.StaleGrace, 0, 0)
	c.items.set(hashKey(e.Kind(), e.ID()), e)
	c.Wait()
	if got := c.Peek(keys.KindLink, "late"); got != nil {
		t.Fatalf("served v%d after an invalidation to v2", got.Version())
	}
	if c.Stats().StaleDropped.Load() != 1 {
		t.Fatal("the late entry was not counted as dropped")
	}
}

func TestNeverReplacesNewerVersion(t *testing.T) {
	o := newFakeOrigin()
	o.set(keys.KindLink, "up", 7)
	c, clk := newTestCache(t, o)
	mustGet(t, c, keys.KindLink, "up")
	o.set(keys.KindLink, "up", 6) // an origin that went back in time (failover to a lagging one)
	clk.Advance(2 * time.Minute)  // past TTL: refresh
	e, _, err := c.Get(keys.KindLink, []byte("up"))
	if err != nil || e.Version() != 7 {
		t.Fatalf("refresh to an older version: %v v%d, want v7 kept", err, e.Version())
	}
}

func TestNotAfterIsAHardEnd(t *testing.T) {
	c, clk := newTestCache(t, LoaderFunc(func(_ context.Context, k keys.Kind, id string, minVersion uint64) (*Entry, error) {
		a := answer(k, id, 1, time.Hour)
		a.NotAfter = t0.Add(10 * time.Second)
		return NewEntry(a)
	}), func(c *Config) { c.StaleGrace = time.Hour })
	mustGet(t, c, keys.KindLink, "exp")
	clk.Advance(11 * time.Second)
	if c.Peek(keys.KindLink, "exp") != nil {
		t.Fatal("entry served past its NotAfter")
	}
}

func TestDropPartitionIncludesFillsInFlight(t *testing.T) {
	release := make(chan struct{})
	o := newFakeOrigin()
	slow := LoaderFunc(func(ctx context.Context, k keys.Kind, id string, minVersion uint64) (*Entry, error) {
		if id == "slow" {
			<-release
		}
		return o.Load(ctx, k, id, minVersion)
	})
	o.set(keys.KindLink, "slow", 1)
	o.set(keys.KindLink, "kept", 1)
	c, _ := newTestCache(t, slow, func(c *Config) { c.LoadTimeout = 5 * time.Second })
	p := keys.DefaultSpace().Partition(keys.KindLink, "slow")
	var other string
	for i := 0; other == ""; i++ {
		if id := "k" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)); keys.DefaultSpace().Partition(keys.KindLink, id) != p {
			other = id
		}
	}
	o.set(keys.KindLink, other, 1)
	mustGet(t, c, keys.KindLink, other)
	done := make(chan struct{})
	go func() { defer close(done); _, _, _ = c.Get(keys.KindLink, []byte("slow")) }()
	time.Sleep(20 * time.Millisecond)
	c.DropPartition(p)
	close(release)
	<-done
	c.Wait()
	if c.Peek(keys.KindLink, "slow") != nil {
		t.Fatal("a fill that started before DropPartition is served after it")
	}
	if c.Peek(keys.KindLink, other) == nil {
		t.Fatal("DropPartition dropped another partition's entry")
	}
	c.DropAll()
	if c.Peek(keys.KindLink, other) != nil || c.Len() != 0 {
		t.Fatal("DropAll left entries")
	}
}

func TestFloorsAreBoundedAndSweep(t *testing.T) {
	o := newFakeOrigin()
	c, clk := newTestCache(t, o, func(c *Config) {
		c.MaxFloors = floorShards * 2 * 4
		c.FloorLifetime = 10 * time.Second
		c.LoadTimeout = time.Second
	})
	for i := range 20000 {
		c.Invalidate(keys.KindLink, "k"+itoa(i), 1)
	}
	if n := c.floors.len(); n > floorShards*2*4*2 {
		t.Fatalf("%d floors kept, bound is %d", n, floorShards*2*4*2)
	}
	// A late Set older than its floor is swept when the floor is forgotten.
	c.Invalidate(keys.KindStock, "swept", 2)
	e := render(keys.KindStock, "swept", 1, time.Hour)
	e.seal(clk.Now(), time.Hour, 0, c.floors.shard(hashKey(keys.KindStock, "swept")).epoch.Load())
	c.items.set(hashKey(e.Kind(), e.ID()), e)
	c.Wait()
	for i := range 20000 { // rotate every shard twice over
		clk.Advance(10 * time.Millisecond)
		c.Invalidate(keys.KindStock, "r"+itoa(i), 1)
	}
	if c.floors.shard(hashKey(keys.KindStock, "swept")).getString(keys.KindStock, "swept") != 0 {
		t.Fatal("floor still remembered after two rotations of every shard")
	}
	c.Wait()
	if got, ok := c.items.get(hashKey(keys.KindStock, "swept")); ok && got.ID() == "swept" {
		t.Fatal("the entry the forgotten floor guarded is still cached")
	}
}

func TestConfigErrors(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no loader":     {},
		"tiny budget":   {Loader: newFakeOrigin(), MaxCostBytes: 10},
		"negative":      {Loader: newFakeOrigin(), StaleGrace: -1},
		"short floors":  {Loader: newFakeOrigin(), FloorLifetime: time.Second, LoadTimeout: time.Second},
		"neg maxfloors": {Loader: newFakeOrigin(), MaxFloors: -1},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
}

func TestCloseCancelsFillsAndIsIdempotent(t *testing.T) {
	o := newFakeOrigin()
	o.down.Store(true)
	o.hang.Store(true)
	c, _ := newTestCache(t, o, func(c *Config) { c.LoadTimeout = 10 * time.Second; c.FloorLifetime = time.Minute })
	done := make(chan error, 1)
	go func() { _, _, err := c.Get(keys.KindLink, []byte("hang")); done <- err }()
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	c.Close()
	c.Close()
	if err := <-done; !errors.Is(err, ErrClosed) || time.Since(start) > time.Second {
		t.Fatalf("Get during Close: %v after %v", err, time.Since(start))
	}
	if _, _, err := c.Get(keys.KindLink, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
}

func itoa(i int) string {
	var b [20]byte
	n := len(b)
	for {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			return string(b[n:])
		}
	}
}

// A fill after an invalidation tells the loader the version it must reach
// (MinVersion), so the origin can read its primary when its replica is
// behind; a fill with no invalidation seen asks for nothing.
func TestLoaderSeesTheInvalidatedVersion(t *testing.T) {
	var mu sync.Mutex
	var asked []uint64
	c, _ := newTestCache(t, LoaderFunc(func(ctx context.Context, k keys.Kind, id string, minVersion uint64) (*Entry, error) {
		mu.Lock()
		asked = append(asked, minVersion)
		n := uint64(len(asked))
		mu.Unlock()
		return NewEntry(answer(k, id, n*5, time.Hour)) // versions 5, 10
	}))
	mustGet(t, c, keys.KindLink, "mv")
	c.Invalidate(keys.KindLink, "mv", 9)
	if e, _ := mustGet(t, c, keys.KindLink, "mv"); e.Version() != 10 {
		t.Fatalf("refill got version %d, want 10", e.Version())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 2 || asked[0] != 0 || asked[1] != 9 {
		t.Fatalf("loader asked for min versions %v, want [0 9]", asked)
	}
}
