// Package store is the storage contract of an origin: the Store interface
// and the narrower interfaces callers declare, the records it stores
// (links, stock views, reservations), its sentinel errors, and the
// validation that is about data rather than HTTP (redirect targets,
// statuses, idempotency keys).
//
// It is a leaf: backends (origin/embedded, origin/redisstore) and the
// conformance suite (origin/storetest) import it and their driver only, and
// the HTTP admin server (origin) imports it; it imports nothing of the
// project but the shared wire leaves (internal/keys, internal/change).
// A backend therefore never links net/http or Prometheus.
package store
