package cache

import (
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
)

// update pushes e (at its own version) through Update and reports whether
// it was installed; render errors are the test's failures.
func update(c *Cache, kind keys.Kind, id string, e *Entry) bool {
	ok, err := c.Update(kind, id, e.Version(), func() (*Entry, error) { return e, nil })
	if err != nil {
		panic(err)
	}
	return ok
}

// A pushed answer replaces an older cached entry in place: the next Get is
// a hit on the new version and the origin is not called.
func TestUpdateReplacesHeldEntryWithoutLoad(t *testing.T) {
	o := newFakeOrigin()
	o.set(keys.KindLink, "a", 1)
	c, _ := newTestCache(t, o)
	mustGet(t, c, keys.KindLink, "a")
	calls := o.calls.Load()

	if !update(c, keys.KindLink, "a", render(keys.KindLink, "a", 2, time.Minute)) {
		t.Fatal("Update of a held older entry was not installed")
	}
	c.Invalidate(keys.KindLink, "a", 2) // as the edge does after Update
	e, st := mustGet(t, c, keys.KindLink, "a")
	if st != Hit || e.Version() != 2 {
		t.Fatalf("after Update: state %v version %d, want a hit on 2", st, e.Version())
	}
	if got := o.calls.Load(); got != calls {
		t.Fatalf("the origin was called %d times after the push", got-calls)
	}
	if c.Stats().Updates.Load() != 1 {
		t.Fatalf("Updates = %d", c.Stats().Updates.Load())
	}
}

// A push never adds a key this cache does not hold.
func TestUpdateDoesNotAddKeys(t *testing.T) {
	c, _ := newTestCache(t, newFakeOrigin())
	if update(c, keys.KindLink, "new", render(keys.KindLink, "new", 3, time.Minute)) {
		t.Fatal("Update installed a key that was not cached")
	}
	c.Wait()
	if c.Peek(keys.KindLink, "new") != nil {
		t.Fatal("a pushed key not held is cached")
	}
	if c.Stats().UpdatesSkipped.Load() != 1 {
		t.Fatalf("UpdatesSkipped = %d", c.Stats().UpdatesSkipped.Load())
	}
}

// A push that arrives after a newer version is known (gossip does not keep
// order) is refused, and so is one that is not newer than the entry.
func TestUpdateNeverGoesBack(t *testing.T) {
	o := newFakeOrigin()
	o.set(keys.KindStock, "s", 1)
	c, _ := newTestCache(t, o)
	mustGet(t, c, keys.KindStock, "s")
	c.Invalidate(keys.KindStock, "s", 3) // v3's change came first, without a value
	if update(c, keys.KindStock, "s", render(keys.KindStock, "s", 2, time.Minute)) {
		t.Fatal("Update installed v2 under a floor of 3")
	}
	c.Wait()
	if e := c.Peek(keys.KindStock, "s"); e != nil {
		t.Fatalf("version %d served after the invalidation to 3", e.Version())
	}

	o.set(keys.KindStock, "s", 3)
	mustGet(t, c, keys.KindStock, "s")
	if update(c, keys.KindStock, "s", render(keys.KindStock, "s", 3, time.Minute)) {
		t.Fatal("Update replaced v3 with the same version")
	}
	if e := c.Peek(keys.KindStock, "s"); e == nil || e.Version() != 3 {
		t.Fatal("v3 lost")
	}
}

// An answer not to be cached (TTL 0) is not installed: the invalidation
// that follows drops the old entry, as without a push.
func TestUpdateOfUncacheableAnswerLeavesTheInvalidation(t *testing.T) {
	o := newFakeOrigin()
	o.set(keys.KindLink, "z", 1)
	c, _ := newTestCache(t, o)
	mustGet(t, c, keys.KindLink, "z")
	if update(c, keys.KindLink, "z", render(keys.KindLink, "z", 2, 0)) {
		t.Fatal("a TTL-0 answer was installed")
	}
	c.Invalidate(keys.KindLink, "z", 2)
	c.Wait()
	if c.Peek(keys.KindLink, "z") != nil {
		t.Fatal("v1 still served after the invalidation to 2")
	}
}

// An invalidation raises the floor before it deletes the old entry; a push
// of an older version landing in between must not be installed (it would
// be sealed at the new epoch and served under the higher floor).
func TestUpdateChecksTheFloorOfAHeldEntry(t *testing.T) {
	o := newFakeOrigin()
	o.set(keys.KindLink, "w", 1)
	c, _ := newTestCache(t, o)
	mustGet(t, c, keys.KindLink, "w")
	h := hashKey(keys.KindLink, "w")
	// The first half of Invalidate(w, 3): the floor, not yet the Del.
	c.floors.shard(h).raise(c.floors, keys.KindLink, "w", 3, c.cfg.Clock.Now().UnixNano())
	if update(c, keys.KindLink, "w", render(keys.KindLink, "w", 2, time.Minute)) {
		t.Fatal("Update installed v2 under a floor of 3")
	}
	if e := c.Peek(keys.KindLink, "w"); e != nil && e.Version() < 3 {
		t.Fatalf("version %d served under a floor of 3", e.Version())
	}
}

// Update decodes (calls render) only for an answer it will install: not
// for a key it does not hold, nor for one at least as new as the push.
func TestUpdateRendersOnlyWhatItInstalls(t *testing.T) {
	o := newFakeOrigin()
	o.set(keys.KindLink, "r", 2)
	c, _ := newTestCache(t, o)
	mustGet(t, c, keys.KindLink, "r")
	calls := 0
	render := func() (*Entry, error) { calls++; return render(keys.KindLink, "r", 3, time.Minute), nil }
	for _, k := range []struct {
		id      string
		version uint64
	}{{"absent", 3}, {"r", 2}, {"r", 1}} {
		if ok, err := c.Update(keys.KindLink, k.id, k.version, render); ok || err != nil {
			t.Fatalf("Update(%s, %d) = %v, %v; want skipped", k.id, k.version, ok, err)
		}
	}
	if calls != 0 {
		t.Fatalf("render called %d times for answers not installed", calls)
	}
	if ok, err := c.Update(keys.KindLink, "r", 3, render); !ok || err != nil || calls != 1 {
		t.Fatalf("Update(r, 3) = %v, %v after %d renders; want installed after one", ok, err, calls)
	}
}
