package bench

import (
	"context"
	"time"
)

// settledQueue is the gossip backlog (broadcasts queued, summed over every
// node) below which a topology counts as settled.
const settledQueue = 1000

// settleGossip waits, at most limit (none if negative), until the gossip
// broadcast queues of every node hold fewer than settledQueue broadcasts,
// and returns how long it waited and the backlog it left with (-1 when
// the metrics could not be read). Seeding a live topology makes one change
// per key, and every node queues each for a dozen retransmissions: measured
// before that backlog drains, reads and invalidations include the bulk
// import's aftermath, not the steady state. The embedded topology is
// seeded before its nodes start, so it has none. Nodes without the metric
// count as settled.
func (r *runner) settleGossip(ctx context.Context, limit time.Duration) (time.Duration, float64) {
	began := time.Now()
	hosts := append(append([]*host{}, r.edges...), r.origins...)
	for {
		ss, err := scrapeAll(hosts)
		if err != nil {
			return time.Since(began), -1
		}
		q := counters(ss, metricGossipQueue, "node")
		var total float64
		for _, v := range q {
			total += v
		}
		waited := time.Since(began)
		if total < settledQueue || waited >= limit || limit < 0 {
			r.pr.done()
			return waited, total
		}
		r.pr.status("waiting for the gossip queues to drain after seeding: %.0f broadcasts queued (%.0fs of at most %v)", total, waited.Seconds(), limit)
		select {
		case <-ctx.Done():
			return time.Since(began), total
		case <-time.After(time.Second):
		}
	}
}
