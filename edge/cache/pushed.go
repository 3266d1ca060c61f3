package cache

import (
	"fmt"

	"github.com/shortstock/shortstock/internal/keys"
)

// Update installs the key's answer at version, which its origin pushed with
// a change, in place of the key's cached entry when that entry is older: as
// if an invalidation to version had been followed at once by a fill that
// returned the answer, without the origin call. render builds the entry; it
// runs only when the answer would be installed, so an edge does not decode
// answers for keys it does not hold (most keys, on most edges).
//
// Update never adds a key that is not cached and servable here (a push
// must not fill the cache with keys nobody here asked for), never installs
// under a floor higher than version, and never replaces a newer entry. The
// caller then invalidates the key to version as for any change: that raises
// the floor, and with the answer installed it drops nothing. It reports
// whether the answer was installed; an error is render's, or an entry that
// is not the key's at version (ErrBadAnswer).
func (c *Cache) Update(kind keys.Kind, id string, version uint64, render func() (*Entry, error)) (bool, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return false, nil
	}
	h := hashKey(kind, id)
	part := c.space.Partition(kind, id)
	gen := c.gens[part].Load()
	sh := c.floors.shard(h)
	cur, ok := c.items.get(h)
	if !ok || !cur.is(kind, []byte(id)) || cur.gen != uint16(gen) || cur.Version() >= version {
		c.stats.UpdatesSkipped.Add(1)
		return false, nil
	}
	// The order of fill: epoch first, then the floor check, then the Set.
	ep := sh.epoch.Load()
	if version < sh.getString(kind, id) {
		c.stats.UpdatesSkipped.Add(1)
		return false, nil
	}
	e, err := render()
	if err != nil {
		return false, err
	}
	if e == nil || !e.is(kind, []byte(id)) || e.Version() != version || e.flags&flagUnsealed == 0 {
		return false, fmt.Errorf("%w: a pushed answer that is not %c:%s at version %d", ErrBadAnswer, kind, id, version)
	}
	now := c.cfg.Clock.Now()
	e.partition = uint16(part)
	e.seal(now, c.cfg.StaleGrace, gen, ep)
	if now.UnixNano() >= e.freshUntil {
		c.stats.UpdatesSkipped.Add(1)
		return false, nil // an answer not to be cached (TTL 0): the invalidation drops the old one
	}
	// The key is cached, so its bucket is replaced in place, now, unless
	// a newer entry of the key was installed meanwhile.
	c.items.set(h, e)
	c.stats.Updates.Add(1)
	return true, nil
}
