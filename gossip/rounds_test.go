package gossip

import (
	"testing"
	"time"
)

// TestGossipRoundsOnlyWhileQueued: the change gossip loop runs no round
// while nothing is queued (an idle node does not wake every
// GossipInterval), runs rounds once a change is queued, and stops again
// once the queue has drained. Without direct pushes the rounds are what
// carry the change to every member.
func TestGossipRoundsOnlyWhileQueued(t *testing.T) {
	nodes := startCluster(t, 3, func(_ int, c *Config) { c.NoDirectPush = true })
	idle := 10 * nodes[0].cfg.GossipInterval
	time.Sleep(idle)
	for i, n := range nodes {
		if r := n.stats.rounds.Load(); r != 0 {
			t.Fatalf("node %d ran %d gossip rounds with nothing queued", i, r)
		}
	}
	c := linkChange("rounds", 3)
	if err := nodes[0].Publish(c); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "every member has the change", func() bool {
		return nodes[1].rec.version(c.Key) == 3 && nodes[2].rec.version(c.Key) == 3
	})
	// memberlist may deliver it first (on a probe, or its own round):
	// the change stays queued for its retransmissions, so the loop runs.
	waitFor(t, 3*time.Second, "the publisher ran a gossip round", func() bool {
		return nodes[0].stats.rounds.Load() > 0
	})
	waitFor(t, 5*time.Second, "every queue drained", func() bool {
		for _, n := range nodes {
			if n.queue.NumQueued() != 0 {
				return false
			}
		}
		return true
	})
	before := make([]uint64, len(nodes))
	for i, n := range nodes {
		before[i] = n.stats.rounds.Load()
	}
	// A round already waiting on its timer may still run once.
	time.Sleep(idle)
	for i, n := range nodes {
		if r := n.stats.rounds.Load(); r > before[i]+1 {
			t.Fatalf("node %d ran %d gossip rounds after its queue drained", i, r-before[i])
		}
	}
}
