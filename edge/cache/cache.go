package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"golang.org/x/sync/singleflight"

	"github.com/shortstock/shortstock/internal/keys"
)

// State says how Get answered.
type State uint8

const (
	// Miss: the answer was loaded from the origin for this request (or a
	// concurrent one it joined).
	Miss State = iota
	// Hit: the answer was cached and fresh.
	Hit
	// Stale: the answer was cached past its TTL and the origin could not
	// be reached to refresh it.
	Stale
	// Revalidating: the answer was cached past its TTL (or soft-purged)
	// but within RevalidateWindow, so it was served at once while one
	// background refresh, shared by every such request, runs.
	Revalidating
)

func (s State) String() string {
	switch s {
	case Hit:
		return "HIT"
	case Stale:
		return "STALE"
	case Revalidating:
		return "STALE-REVALIDATING"
	default:
		return "MISS"
	}
}

// Cache is a versioned cache of rendered answers. Create it with New. All
// methods are safe for concurrent use, except that Close must not run
// concurrently with Get (ristretto's own Close has the same rule): stop
// serving first.
type Cache struct {
	cfg    Config
	items  items
	floors *floors
	space  keys.Space // cfg.Partitions
	// gens holds one generation per partition; DropPartition bumps it and
	// an entry filled in an older generation is never served. 32 bits (as
	// Entry.gen): a partition is dropped on rare events (a gap in its change
	// log, a restart), never 2^32 times within an entry's lifetime.
	gens  []atomic.Uint32 // len cfg.Partitions
	group singleflight.Group
	// window is cfg.RevalidateWindow in ns; revalidating holds the entries
	// whose background refresh was started (see revalidate.go).
	window       int64
	revalMu      sync.Mutex
	revalidating map[*Entry]int64
	nextPrune    int64

	// lastFail and lastOK are the clock's unix nanoseconds of the last
	// failed and successful Load: a recent failure with no success since
	// means "origin down", and stale entries are then served at once.
	lastFail atomic.Int64
	lastOK   atomic.Int64

	stats Stats

	// mu guards closing against fills and invalidations: they hold it
	// shared while they touch ristretto, Close holds it exclusively.
	mu        sync.RWMutex
	closed    bool
	fills     sync.WaitGroup
	ctx       context.Context
	cancel    context.CancelFunc
	deadlines *loadDeadlines
}

// New validates cfg and returns a Cache.
func New(cfg Config) (*Cache, error) {
	cfg.fill()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Cache{cfg: cfg, space: keys.MustSpace(cfg.Partitions), gens: make([]atomic.Uint32, cfg.Partitions), window: int64(cfg.RevalidateWindow), revalidating: map[*Entry]int64{}}
	rc, err := ristretto.NewCache(&ristretto.Config[uint64, bucket]{
		NumCounters: cfg.NumCounters,
		MaxCost:     cfg.MaxCostBytes,
		BufferItems: 64,
		KeyToHash:   identity,
		// items.set decides, under the bucket's lock, whether an entry
		// replaces another (a key never goes back to an older version).
		// Our cost already counts our bytes and overhead.
		IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	c.items.rc = rc
	c.items.shift = 64 - bucketBits(cfg.MaxCostBytes, cfg.KeysPerItem)
	c.items.perItem = cfg.KeysPerItem
	c.floors = newFloors(int64(cfg.FloorLifetime), cfg.MaxFloors, cfg.Clock.Now().UnixNano())
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.deadlines = newLoadDeadlines(c.ctx, cfg.LoadTimeout)
	return c, nil
}

// Get returns the answer for a key given as bytes (typically a slice of the
// request path; it is not kept). A fresh cached entry is returned without
// allocating. Otherwise the key is loaded, with concurrent misses of one key
// sharing one Load; if that fails, a cached entry still in its grace period
// is returned as Stale, and with nothing to serve the error wraps
// ErrUnavailable.
func (c *Cache) Get(kind keys.Kind, id []byte) (*Entry, State, error) {
	return c.GetAt(kind, id, c.cfg.Clock.Now())
}

// GetAt is Get with the caller's reading of the clock: a server that has
// already taken the time of the request (fasthttp's RequestCtx.Time) saves
// a clock read, which on some virtual machines costs more than the rest of
// a hit.
func (c *Cache) GetAt(kind keys.Kind, id []byte, at time.Time) (*Entry, State, error) {
	e, st, ok := c.CachedAt(kind, id, at)
	if ok {
		return e, st, nil
	}
	return c.slow(kind, id, e, at.UnixNano())
}

// CachedAt is GetAt without the load: it returns a fresh entry (Hit) or
// one inside its revalidation window (Revalidating, a background refresh
// started) and true, or false when answering would take an origin call.
// With false the entry returned, if any, is one kept only for
// stale-if-error. A request with Cache-Control: only-if-cached (RFC 9111
// 5.2.1.7) stops there; any other goes on to GetAt, whose second lookup
// costs nothing next to the origin call it makes.
func (c *Cache) CachedAt(kind keys.Kind, id []byte, at time.Time) (*Entry, State, bool) {
	now := at.UnixNano()
	e := c.lookup(kind, id, hashBytes(kind, id), now)
	if e != nil {
		if now < e.freshUntil {
			return e, Hit, true
		}
		if now < e.freshUntil+c.window && c.revalidate(e, kind, id, now) {
			return e, Revalidating, true
		}
	}
	return e, Miss, false
}

// Peek returns the cached entry for a key if one may be served (fresh or
// within its grace period), without loading anything.
func (c *Cache) Peek(kind keys.Kind, id string) *Entry {
	return c.lookup(kind, []byte(id), hashKey(kind, id), c.cfg.Clock.Now().UnixNano())
}

// lookup returns the cached entry for a key if it may be served at now:
// it is the key's (its id, not only its hash h), within its grace period,
// from the current generation of its partition and not older than the
// key's floor.
func (c *Cache) lookup(kind keys.Kind, id []byte, h uint64, now int64) *Entry {
	e, ok := c.items.get(h)
	if !ok || !e.is(kind, id) || e.gen != uint16(c.gens[e.partition].Load()) {
		return nil
	}
	if now >= e.staleUntil() {
		// Past its grace period: never served again, so give the memory
		// back now rather than waiting for eviction.
		c.del(h)
		return nil
	}
	sh := c.floors.shard(h)
	if ep := sh.epoch.Load(); e.checked.Load() != uint32(ep) {
		if sh.get(kind, id) > e.Version() {
			// A Set that landed after the Del of an invalidation.
			c.stats.StaleDropped.Add(1)
			c.del(h)
			return nil
		}
		e.checked.Store(uint32(ep))
	}
	return e
}

// slow is the part of Get that may load; it is kept apart so the string
// conversion of id happens only on a miss.
func (c *Cache) slow(kind keys.Kind, idb []byte, stale *Entry, now int64) (*Entry, State, error) {
	id := string(idb)
	if stale != nil && c.originDown(now) {
		// Do not make every request wait for an origin that just failed:
		// answer stale now and let one refresh try in the background.
		c.refresh(flightKey(kind, id), kind, id)
		return stale, Stale, nil
	}
	e, err := c.load(kind, id)
	if err == nil {
		return e, Miss, nil
	}
	if stale != nil && !errors.Is(err, ErrClosed) {
		return stale, Stale, nil
	}
	return nil, Miss, err
}

func (c *Cache) originDown(now int64) bool {
	f := c.lastFail.Load()
	return f > c.lastOK.Load() && now-f < int64(c.cfg.RetryBackoff)
}

func flightKey(kind keys.Kind, id string) string { return string(kind) + ":" + id }

// load fills a key, sharing the fill with concurrent loads of the same key.
// singleflight only joins calls that overlap: a request that missed just
// before another's fill was installed arrives after that flight ended, so
// the flight first looks again and answers from the cache when it can
// (groupcache does the same), or a herd of misses would cost the origin
// more than one lookup.
func (c *Cache) load(kind keys.Kind, id string) (*Entry, error) {
	v, err, _ := c.group.Do(flightKey(kind, id), func() (any, error) {
		now := c.cfg.Clock.Now().UnixNano()
		if e := c.lookup(kind, []byte(id), hashKey(kind, id), now); e != nil && now < e.freshUntil {
			return e, nil
		}
		return c.fill(kind, id)
	})
	if err != nil {
		return nil, err
	}
	return v.(*Entry), nil
}

// refresh starts a background fill of a key unless a flight under the
// same flight key is in progress. The goroutine is singleflight's; the fill
// it runs is counted in c.fills, so Close cancels and waits for it.
func (c *Cache) refresh(flight string, kind keys.Kind, id string) {
	c.group.DoChan(flight, func() (any, error) { return c.fill(kind, id) })
}

// fill loads a key and installs it. The version check against the floor is
// the last step before the Set, and the epoch is read before it, so an
// invalidation that overtakes the check is caught by lookup.
func (c *Cache) fill(kind keys.Kind, id string) (*Entry, error) {
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return nil, ErrClosed
	}
	c.fills.Add(1)
	c.mu.RUnlock()
	defer c.fills.Done()

	h := hashKey(kind, id)
	part := c.space.Partition(kind, id)
	gen := c.gens[part].Load()
	sh := c.floors.shard(h)
	// Two tries: a fill that raced an invalidation comes back with the old
	// version and is refused; the second one reads after the write.
	for range 2 {
		e, err := c.cfg.Loader.Load(c.deadlines.get(), kind, id, sh.getString(kind, id))
		now := c.cfg.Clock.Now()
		if err != nil {
			c.lastFail.Store(now.UnixNano())
			c.stats.LoadErrors.Add(1)
			if c.ctx.Err() != nil {
				return nil, ErrClosed
			}
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		c.lastOK.Store(now.UnixNano())
		c.stats.Loads.Add(1)
		if e == nil || e.kind != kind || string(e.id()) != id {
			return nil, fmt.Errorf("%w: the loader answered for another key", ErrUnavailable)
		}
		if e.flags&flagUnsealed == 0 {
			// seal would write to an entry requests may be reading.
			return nil, fmt.Errorf("%w: the loader returned an entry it had returned before", ErrUnavailable)
		}
		version := e.Version()
		ep := sh.epoch.Load()
		if version < sh.getString(kind, id) {
			c.stats.FillsRefused.Add(1)
			continue
		}
		e.partition = uint16(part)
		e.seal(now, c.cfg.StaleGrace, gen, ep)
		got := c.install(h, e)
		if sh.epoch.Load() != ep && version < sh.getString(kind, id) {
			// An invalidation overtook the check above and its Del may have
			// run before our Set was queued: queue a Del behind the Set so
			// ristretto applies them in that order, and load again.
			c.del(h)
			c.stats.FillsRefused.Add(1)
			continue
		}
		return got, nil
	}
	return nil, ErrRefused
}

// install caches a sealed entry, unless a newer version of the key is
// already cached, in which case that one is returned: a request never sees
// a key go back in time.
func (c *Cache) install(h uint64, e *Entry) *Entry {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return e
	}
	if cur, ok := c.items.get(h); ok && cur.same(e) && cur.Version() > e.Version() {
		return cur
	}
	// An entry with TTL <= 0 was fresh until no later than the fill.
	if c.cfg.Clock.Now().UnixNano() < e.freshUntil {
		// No ristretto TTL: it would read the wall clock on every Get.
		// lookup enforces TTL and grace on the cache's clock and deletes
		// what is past them; eviction by cost bounds the rest.
		// set returns once the entry is visible, so the requests after
		// this miss hit instead of loading again.
		c.items.set(h, e)
	}
	return e
}

func (c *Cache) del(h uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.closed {
		c.items.del(h)
	}
}

// Invalidate records that a key reached version: a cached entry older than
// that is dropped, and fills or late Sets that carry an older version are
// refused for FloorLifetime. It reports whether version was news (higher
// than any seen for the key); replays and duplicates return false and
// change nothing.
func (c *Cache) Invalidate(kind keys.Kind, id string, version uint64) bool {
	h := hashKey(kind, id)
	rose, out := c.floors.shard(h).raise(c.floors, kind, id, version, c.cfg.Clock.Now().UnixNano())
	if rose {
		c.dropBelow(kind, id, h, version)
	}
	for _, d := range out {
		// The floor is forgotten now: make sure no entry it was refusing
		// (a Set that landed after the Del) outlives it.
		c.dropOlder(d.kind, d.id, hashKey(d.kind, d.id), d.version)
	}
	if rose {
		c.stats.Invalidations.Add(1)
	} else {
		c.stats.InvalidationsRefused.Add(1)
	}
	return rose
}

// dropBelow deletes the key's entry unless one at least as new as version
// is visible. It deletes when none is visible, too: a fill's Set may still
// sit in ristretto's buffer, and a Del queued now is applied after it.
func (c *Cache) dropBelow(kind keys.Kind, id string, h uint64, version uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return
	}
	if e, ok := c.items.get(h); ok && e.kind == kind && string(e.id()) == id && e.Version() >= version {
		return
	}
	c.items.del(h)
}

// dropOlder deletes the key's entry if it is older than version (a
// forgotten floor's last sweep).
func (c *Cache) dropOlder(kind keys.Kind, id string, h uint64, version uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return
	}
	if e, ok := c.items.get(h); ok && e.kind == kind && string(e.id()) == id && e.Version() < version {
		c.items.del(h)
	}
}

// DropPartition forgets every entry of a partition, including fills in
// flight: used when changes of the partition were lost (the log was
// trimmed past what this edge applied) and nothing cached can be trusted.
func (c *Cache) DropPartition(p int) {
	if !c.space.Valid(p) {
		return
	}
	c.gens[p].Add(1)
	c.sweep(func(e *Entry) bool { return int(e.partition) == p })
}

// DropAll forgets every entry, including fills in flight, and walks the
// cache to give their memory back.
func (c *Cache) DropAll() {
	c.InvalidateAll()
	c.sweep(func(*Entry) bool { return true })
}

// InvalidateAll makes every cached entry, and every fill in flight,
// unservable at once without walking the cache: cheap enough for a
// goroutine that must not block. The memory comes back as entries are
// replaced, evicted or expire.
func (c *Cache) InvalidateAll() {
	for p := range c.gens {
		c.gens[p].Add(1)
	}
}

// sweep deletes the entries that match, to give their memory back at once
// (the generation bump already keeps them from being served).
func (c *Cache) sweep(match func(*Entry) bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return
	}
	c.items.sweep(match)
}

// Cost returns the bytes the cached entries account for.
func (c *Cache) Cost() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return 0
	}
	return c.items.rc.MaxCost() - c.items.rc.RemainingCost()
}

// Len counts the cached entries. It walks the cache: for metrics scrapes
// and tests, not for the request path.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := 0
	if !c.closed {
		c.items.each(func(uint64, *Entry) bool { n++; return false })
	}
	return n
}

// Stats returns the cache's counters.
func (c *Cache) Stats() *Stats { return &c.stats }

// Wait blocks until buffered Sets are applied (for tests).
func (c *Cache) Wait() { c.items.rc.Wait() }

// Close cancels fills in flight, waits for them and releases ristretto's
// goroutines. It is idempotent. It must not run concurrently with Get.
func (c *Cache) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.cancel()
	c.mu.Unlock()
	c.fills.Wait()
	c.deadlines.close()
	c.items.rc.Close()
}
