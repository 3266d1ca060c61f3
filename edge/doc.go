// Package edge is an edge node: the public redirect and stock API answered
// from a local versioned cache (edge/cache), filled from the region's origin
// on a miss, kept fresh by invalidations, and counting clicks on the way.
//
// Request path. A fasthttp server routes with a plain switch on the path, so
// nothing is allocated to route: GET|HEAD /{code} answers the link's
// redirect, GET /v1/stock/{sku} the stock view exactly as the origin renders
// it, and /_/healthz, /_/readyz, /_/metrics serve operations. Input is
// validated before any lookup; a bad code or SKU never reaches the origin.
// A hit writes bytes rendered once at fill time and allocates nothing.
//
// Freshness. Invalidations arrive through HandleChange (gossip calls it)
// and are applied by version, so duplicates and replays are harmless. Each
// partition's change sequence is tracked; a gap, or an origin watermark
// ahead of ours (ObserveHeads, and a periodic poll of the origin's heads),
// makes a Server-owned goroutine replay the missed changes from the origin's
// change log, or drop the partition's entries when the log no longer holds
// them. TTLs from the origin are the last safety net: past one an entry is
// refreshed, and served stale (X-Cache: STALE) for a grace period only
// while the origin is unreachable.
//
// Clicks are counted in the cached entries without locks and sent to the
// origin in batches every ClickFlushInterval and on Shutdown.
//
// The package imports no other part of shortstock but internal leaves: the
// origin is reached over its HTTP internal API (internal/wire), and gossip
// calls in through HandleChange and ObserveHeads.
package edge
