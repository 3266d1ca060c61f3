// Package cache is the edge's versioned response cache: ready-to-send
// answers (redirects, stock views, 404s) over ristretto, bounded by a memory
// budget, filled from the origin through a caller's Loader.
//
// It keeps the guarantees of shared/DESIGN.md that live in the edge:
//
//   - Versions only grow. Invalidate remembers the newest version seen per
//     key for a while (a bounded, sharded floor map), refuses fills that
//     carry an older version, and, because ristretto applies a Set later
//     through a buffer and so may land after a Del, checks every entry it
//     is about to serve against the floor as well.
//   - Misses are coalesced: N concurrent misses of one key cost one Load.
//   - Stale on error: past its TTL an entry is refreshed; while the origin
//     is unreachable it is served (State Stale) for a grace period, then
//     dropped.
//   - Memory: ristretto's bookkeeping per item outweighs a cached
//     redirect, so a ristretto item is a bucket of about KeysPerItem keys
//     (items.go); a key pays a 16-byte slot and a share of its bucket's
//     bookkeeping, ~170 bytes in all for a link with a 45-byte URL.
//   - A hit allocates nothing: Get takes the key as bytes, hashes it
//     without copying, and hands back the Entry, whose response bytes were
//     rendered once when it was filled.
package cache
