package cache

import (
	"strconv"

	"github.com/shortstock/shortstock/internal/keys"
)

// Stale-while-revalidate (RFC 5861's idea, inside the edge): an entry past
// its TTL but within RevalidateWindow is served at once while one refresh
// runs in the background. "One" is per entry, not only per flight: a
// request that looked the old entry up just before the refreshed one was
// installed must not start a second fetch after the first flight ended,
// so the entries whose refresh was started are remembered until their
// window is over. The window is the hard bound: past it the entry is not
// served this way again, however the refresh went.

// revalidate starts the background refresh of e, a cached entry past its
// TTL and within its window, unless one was started for it already. It
// reports false, serving nothing, when the origin is down: the slow path
// then answers Stale and paces the retries.
func (c *Cache) revalidate(e *Entry, kind keys.Kind, id []byte, now int64) bool {
	if c.originDown(now) {
		return false
	}
	c.revalMu.Lock()
	_, started := c.revalidating[e]
	if !started {
		if len(c.revalidating) >= 1024 && now >= c.nextPrune {
			for old, until := range c.revalidating {
				if until <= now {
					delete(c.revalidating, old)
				}
			}
			c.nextPrune = now + max(c.window/4, 1e6)
		}
		c.revalidating[e] = e.freshUntil + c.window
	}
	c.revalMu.Unlock()
	if !started {
		c.stats.Revalidations.Add(1)
		sid := string(id)
		c.refresh(revalidationKey(kind, sid, e.Version()), kind, sid)
	}
	return true
}

// revalidationKey is the flight of a refresh of the key's version v: it
// joins only refreshes of that same version, never the flight that
// installed e. That flight stays in singleflight's map for a moment after
// its entry is cached; if e goes stale in that moment (a soft purge, a
// short TTL, a jumped clock), joining it would hand back e itself, and e,
// marked as being refreshed, would be served unrefreshed to the end of
// its window.
func revalidationKey(kind keys.Kind, id string, v uint64) string {
	return flightKey(kind, id) + "@" + strconv.FormatUint(v, 10)
}

// SoftPurge marks the key's cached entry stale, as if its TTL had just
// ended: it is served at once (Revalidating) while one refresh runs, for
// at most RevalidateWindow; with no window it is dropped instead. It
// reports whether an entry was cached.
func (c *Cache) SoftPurge(kind keys.Kind, id string) bool {
	h := hashKey(kind, id)
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return false
	}
	e, ok := c.items.get(h)
	if !ok || !e.is(kind, []byte(id)) {
		return false
	}
	c.softPurgeLocked(h, e)
	return true
}

// SoftPurgeAll marks every cached entry stale (see SoftPurge). It walks the
// cache: for purges, not for the request path.
func (c *Cache) SoftPurgeAll() {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return
	}
	var hs []uint64
	var es []*Entry
	c.items.each(func(h uint64, e *Entry) bool {
		hs, es = append(hs, h), append(es, e)
		return false
	})
	for i, e := range es {
		c.softPurgeLocked(hs[i], e)
	}
}

// softPurgeLocked replaces e by a copy whose TTL ended now (entries are
// read-only once served, so the deadline cannot be changed in place). A
// newer fill that lands first wins (ShouldUpdate refuses the older copy),
// and the copy is checked against the key's floor like any entry.
func (c *Cache) softPurgeLocked(h uint64, e *Entry) {
	now := c.cfg.Clock.Now().UnixNano()
	if c.window == 0 {
		c.items.del(h)
		return
	}
	if e.freshUntil <= now {
		return // stale already
	}
	cp, buf := allocEntry(e.bufLen())
	cp.setBuf(append(buf, e.buf()...))
	cp.freshUntil = now
	cp.setStaleUntil(e.staleUntil())
	cp.gen = e.gen
	cp.statusVer, cp.kind, cp.flags, cp.partition = e.statusVer, e.kind, e.flags, e.partition
	cp.idLen, cp.ctLen = e.idLen, e.ctLen
	// checked stays 0: the next lookup compares it with its floor.
	c.stats.SoftPurges.Add(1)
	c.items.set(h, cp)
}

// Purge drops the key's cached entry: the next request loads it.
func (c *Cache) Purge(kind keys.Kind, id string) {
	c.del(hashKey(kind, id))
}
