// Package origin is a region's origin: the authenticated admin API for links,
// stock and reservations, the internal API that edges fill their caches from,
// and the change-log tailer that turns storage changes into invalidations.
//
// The storage contract (store.Store, the records and sentinel errors) is the
// leaf package origin/store. Backends live in origin/embedded (bbolt, the
// default) and origin/redisstore (Redis and Redis Cluster), and both pass the
// conformance suite in origin/storetest. Data flows client ->
// edge -> origin -> storage, so this package never imports the edge.
package origin
