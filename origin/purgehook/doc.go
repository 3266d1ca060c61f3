// Package purgehook sends purges downstream, to a CDN or cache in front of
// the edges, after a change: Varnish/Fastly-style PURGE requests by
// surrogate key, or a signed JSON webhook. Both are signed with
// HMAC-SHA256 over a timestamp, a nonce and the purge, so the receiver can
// refuse forged, stale and replayed purges (Verifier does it for the
// webhook; deploy/varnish/shortstock.vcl for PURGE). Sends are batched,
// retried with backoff and counted in metrics; an optional Gate holds a
// batch until the edges have applied its changes, so the CDN's refetch
// cannot get the old answer from an edge that has not caught up.
package purgehook
