// Package tiering runs the cold tier of an origin's links: it answers hot
// misses from origin/coldtier (Bloom filter first, then one ranged read)
// and promotes what it finds back to the hot store at its own version; it
// guards creates against codes that are cold; and its mover moves links
// idle for Config.After from the hot store to new cold segments: list
// candidates, write a segment and verify it (coldtier.Tier.Put), then
// evict each link in one conditional step that fails if it was written or
// clicked meanwhile (store.ColdLinks.EvictLink).
//
// Crash safety: a link leaves the hot store only after a verified segment
// holding it at that version is listed, so a crash at any step leaves
// every link readable at its latest version (hot, or cold if evicted).
package tiering
