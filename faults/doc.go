// Package faults is shortstock's fault and hostile-input suite. It holds no
// product code: its tests wire real processes (the shortstock binary, built
// once with -race), a real redis-server (internal/redistest), real
// memberlist pools over loopback and in-process topologies
// (topology), then break them on purpose and measure what users
// would see.
//
// Every test ends with one summary line of figures, for example
//
//	reservations: ops=1500 oversells=0 negative=0 double_holds=0 ...
//
// and fails when a figure that must be 0 is not. The other figures (times,
// counts of faults injected, answers served stale) are reported so a run can
// be compared with the last one recorded in docs/guarantees.md.
//
// What is covered, one file group per concern:
//
//   - reservations_*: concurrent reserve/commit/release with idempotency keys
//     and client retries through a real origin on Redis, while the origin is
//     kill -9ed and Redis restarted; an audit through the admin API and a
//     linearizability check (porcupine) of every (sku, warehouse) history.
//   - staleness_*: writes while an edge is cut off from gossip and another
//     edge process is killed and restarted; stale answers past the TTL bound
//     (a cached 404 for a code created meanwhile included) and versions
//     going backwards.
//   - outage_*: the origin process killed (and frozen) behind edges: cached
//     keys served stale, uncached ones 503 fast, recovery time.
//   - detection_*: failure detection in a 5-edge pool: time to see a killed
//     edge dead, and no false deaths of slow or briefly paused edges.
//   - hostile_*: raw-TCP request smuggling and malformed requests at the
//     edge (and a thundering herd: one origin lookup), and gossip packets
//     with a wrong key, a wrong label or old versions.
//
// docs/guarantees.md maps each guarantee of the design to the tests that
// check it, across the repository, with the figures last measured here.
//
// Fast settings (the default) keep the package under a minute and a half
// with -race on two cores (about 50 s when the machine is otherwise idle). The long mode runs the sizes of the issue (10k
// reservation operations, a 30 s origin outage, more pauses):
//
//	go test -race ./faults/ -faults.long
//	SHORTSTOCK_FAULTS_LONG=1 go test -race -timeout 30m ./faults/
//
// Everything listens on 127.0.0.1 only, faults are injected in process or
// with signals (no tc netem, no root), and every process and goroutine a
// test starts is stopped in its t.Cleanup.
package faults
