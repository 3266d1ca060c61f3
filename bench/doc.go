// Package bench is shortstock's benchmark harness: an open-loop load
// generator, the workloads of the scale profiles, the stock audit, and the
// report (a table, JSON, and an HTML page of charts).
//
// Open loop. Requests are scheduled at a fixed arrival rate: request n is
// due at start + n/rate whatever happened to the ones before it, and its
// latency is measured from that intended time, not from when it was
// actually sent. A server that stalls therefore cannot hide the queue it
// builds behind the stall (no coordinated omission): every request that
// should have been sent during the stall is charged the wait. A bounded
// pool of workers (each with one request in flight, over a bounded pool of
// keep-alive connections) takes the arrivals in order; when the pool cannot
// keep up, arrivals run late and the lateness shows in the latency. Arrivals
// still unsent a grace period after the run are counted as unsent, never
// silently dropped. The one thing not charged is the generator's own timer
// slack: a worker that was early sleeps until the intended time, Go timers
// wake up to a millisecond or two late, and that lateness (up to 2 ms) is
// not the server's doing. Latencies go into HdrHistograms.
//
// Workloads. Reads go to edges: redirects (GET /{code}) and stock reads (GET
// /v1/stock/{sku}), keys drawn from a Zipf distribution of configurable
// skew. Writes go to origins at their own fixed rate: link PATCHes, stock
// adjusts, and reservations that are then committed, released or left held.
// After a PATCH or an adjust whose answer carries the new version, a prober
// polls every edge for the key until each serves at least that version: the
// write -> every-edge invalidation delay. An edge still older when the
// staleness bound has passed is a stale read, as is any read of the load
// itself that returns a version older than one acknowledged longer than the
// bound before it was sent. At the end every SKU the writes touched is
// audited against the bench's own ledger of what it was told: committed plus
// held never above the stock ever supplied, reserved equal to the sum of
// held reservations, available never negative.
//
// Profiles small, medium and large follow the scale table of the design
// (same shape; rates, key counts and topology size scaled to one machine);
// large has no fixed rate: a short ramp finds the highest rate this machine
// sustains, and the report says what was offered and what was achieved.
//
// Targets are the endpoints of `shortstock demo --topology-file`, given URLs,
// or by default a topology the harness starts in process (topology)
// and seeds through the admin API. Compare mode runs the same redirect load,
// alternating, against an edge and against a bare fasthttp server that
// answers a fixed 302 (the ceiling an edge hit is measured against).
//
// Every goroutine the package starts is owned by the call that started it and
// has stopped by the time that call returns.
package bench
