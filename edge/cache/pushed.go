package cache

import "github.com/shortstock/shortstock/internal/keys"

// Update installs e, the key's answer that its origin pushed with a change,
// in place of the key's cached entry when that entry is older: as if an
// invalidation to e's version had been followed at once by a fill that
// returned e, without the origin call. It never adds a key that is not
// cached and servable here (a push must not fill the cache with keys
// nobody here asked for), never installs e under a floor that is higher
// than its version, and never replaces a newer entry.
//
// The caller then invalidates the key to e's version as for any change:
// that raises the floor, and with e installed it drops nothing. It reports
// whether e was installed. e must come fresh from NewEntry.
func (c *Cache) Update(kind keys.Kind, id string, e *Entry) bool {
	if e == nil || e.kind != kind || string(e.id()) != id || e.flags&flagUnsealed == 0 {
		return false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return false
	}
	h := hashKey(kind, id)
	part := c.space.Partition(kind, id)
	gen := c.gens[part].Load()
	version := e.Version()
	sh := c.floors.shard(h)
	cur, ok := c.rc.Get(h)
	if !ok || !cur.is(kind, []byte(id)) || cur.gen != gen || cur.Version() >= version {
		c.stats.UpdatesSkipped.Add(1)
		return false
	}
	// The order of fill: epoch first, then the floor check, then the Set.
	ep := sh.epoch.Load()
	if version < sh.getString(kind, id) {
		c.stats.UpdatesSkipped.Add(1)
		return false
	}
	now := c.cfg.Clock.Now()
	e.partition = uint16(part)
	e.seal(now, c.cfg.StaleGrace, gen, ep)
	if now.UnixNano() >= e.freshUntil {
		c.stats.UpdatesSkipped.Add(1)
		return false // an answer not to be cached (TTL 0): the invalidation drops the old one
	}
	// The key is cached, so ristretto replaces the value in place, now,
	// unless ShouldUpdate finds a newer one installed meanwhile.
	c.rc.Set(h, e, e.cost())
	c.stats.Updates.Add(1)
	return true
}

// HoldsOlder reports whether the key has a cached, servable entry older
// than version: whether an answer pushed at version could be installed.
// It lets the caller skip rendering answers for keys it does not hold.
func (c *Cache) HoldsOlder(kind keys.Kind, id string, version uint64) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return false
	}
	cur, ok := c.rc.Get(hashKey(kind, id))
	return ok && cur.is(kind, []byte(id)) && cur.gen == c.gens[c.space.Partition(kind, id)].Load() && cur.Version() < version
}
