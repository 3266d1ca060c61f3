package gossip

import (
	"fmt"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/change"
)

// TestDirectPushReachesEveryMemberInOneHop turns gossip rounds and probes
// (which piggyback broadcasts) off, an hour apart, so only the publisher's
// direct push can deliver: every
// member must get every change, and none may queue a relay of what it got
// directly (the publisher's own queue holds them all for repair).
func TestDirectPushReachesEveryMemberInOneHop(t *testing.T) {
	const size, changes = 5, 60
	nodes := startCluster(t, size, func(_ int, c *Config) { noRounds(c) })
	for i := range changes {
		if err := nodes[0].Publish(linkChange(fmt.Sprintf("direct-%d", i), 1)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "every member has every change", func() bool {
		for _, n := range nodes[1:] {
			if n.rec.keys() != changes {
				return false
			}
		}
		return true
	})
	for _, n := range nodes[1:] {
		if d := n.Stats().QueueDepth; d != 0 {
			t.Errorf("%s queued %d relays of changes it got directly", n.Name(), d)
		}
	}
	// The direct loop queues the repair copies right after its sends.
	waitFor(t, 5*time.Second, "the publisher queues every repair copy", func() bool {
		return nodes[0].Stats().QueueDepth == changes
	})
	if s := nodes[0].Stats(); s.DirectSent == 0 || s.DirectFailed != 0 {
		t.Errorf("publisher stats: %d direct packets sent, %d failed", s.DirectSent, s.DirectFailed)
	}
}

// TestPushedValueGoesOnlyDirect: the direct packet carries a change's
// pushed value, the gossip copy queued for repair does not (it would pack
// a handful of changes per packet instead of ~25).
func TestPushedValueGoesOnlyDirect(t *testing.T) {
	nodes := startCluster(t, 2, func(_ int, c *Config) { noRounds(c) })
	c := linkChange("valued", 1)
	c.Value = "answer bytes"
	if err := nodes[0].Publish(c); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the direct packet arrives", func() bool { return nodes[1].rec.keys() == 1 })
	nodes[1].rec.mu.Lock()
	got := nodes[1].rec.deliveries[0]
	nodes[1].rec.mu.Unlock()
	if got.Value != c.Value {
		t.Errorf("direct delivery carries value %q, want %q", got.Value, c.Value)
	}
	waitFor(t, 5*time.Second, "the repair copy is queued", func() bool { return nodes[0].Stats().QueueDepth == 1 })
	msgs := nodes[0].queue.GetBroadcasts(0, 1400)
	if len(msgs) != 1 {
		t.Fatalf("%d queued gossip messages, want the one repair copy", len(msgs))
	}
	cs, err := decodeMessage(msgs[0], nil)
	if err != nil || len(cs) != 1 || cs[0].Key != c.Key || cs[0].Version != c.Version {
		t.Fatalf("queued copy = %v, %v; want %s v%d", cs, err, c.Key, c.Version)
	}
	if cs[0].Value != "" {
		t.Errorf("the gossip copy carries the value %q", cs[0].Value)
	}
}

// TestDirectPushPacesBursts: a change after a quiet spell goes at once;
// changes that follow within DirectPushInterval wait for it and share one
// packet, even when they come a little apart (without pacing each would
// find the loop idle and go alone).
func TestDirectPushPacesBursts(t *testing.T) {
	nodes := startCluster(t, 2, func(_ int, c *Config) {
		noRounds(c)
		c.DirectPushInterval = time.Second
	})
	pub := nodes[0]
	if err := pub.Publish(linkChange("first", 1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the first change arrives", func() bool { return nodes[1].rec.keys() == 1 })
	waitFor(t, 5*time.Second, "the first send is counted", func() bool { return pub.Stats().DirectSent >= 1 })
	if s := pub.Stats().DirectSent; s != 1 {
		t.Fatalf("%d direct packets for the first change, want 1", s)
	}
	for _, k := range []string{"second", "third", "fourth"} {
		if err := pub.Publish(linkChange(k, 1)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // spacing, not a bound
	}
	waitFor(t, 5*time.Second, "the burst arrives", func() bool { return nodes[1].rec.keys() == 4 })
	// The counter moves after the send returns, maybe after the receiver
	// has the packet: wait for it to count the burst's send.
	waitFor(t, 5*time.Second, "the burst's send is counted", func() bool { return pub.Stats().DirectSent >= 2 })
	if s := pub.Stats().DirectSent; s != 2 {
		t.Errorf("%d direct packets in all, want 2: the burst within the interval shares one", s)
	}
}

// TestGossipCopyNeverOvertakesTheDirectPacket: with gossip rounds every
// few milliseconds and the direct push held back by its pacing, the
// value-less gossip copy must still not arrive first (a member would drop
// the key and refetch it instead of installing the pushed value).
func TestGossipCopyNeverOvertakesTheDirectPacket(t *testing.T) {
	nodes := startCluster(t, 2, func(_ int, c *Config) {
		noRounds(c)
		c.GossipInterval = 2 * time.Millisecond
		c.DirectPushInterval = 500 * time.Millisecond
	})
	if err := nodes[0].Publish(linkChange("opener", 1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the first change arrives", func() bool { return nodes[1].rec.keys() == 1 })
	c := linkChange("paced", 1)
	c.Value = "answer bytes"
	if err := nodes[0].Publish(c); err != nil { // held by the pacing
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the paced change arrives", func() bool { return nodes[1].rec.keys() == 2 })
	nodes[1].rec.mu.Lock()
	defer nodes[1].rec.mu.Unlock()
	for _, d := range nodes[1].rec.deliveries {
		if d.Key == c.Key && d.Value != c.Value {
			t.Fatalf("the paced change arrived with value %q: its gossip copy overtook the direct packet", d.Value)
		}
	}
}

// noRounds puts gossip rounds and probes an hour apart.
func noRounds(c *Config) {
	c.GossipInterval = time.Hour
	c.ProbeInterval = time.Hour
	c.ProbeTimeout = time.Second
}

// TestNoDirectPushLeavesGossipAlone checks the switch: with gossip rounds
// and probes an hour apart and no direct push, nothing arrives.
func TestNoDirectPushLeavesGossipAlone(t *testing.T) {
	nodes := startCluster(t, 2, func(_ int, c *Config) {
		noRounds(c)
		c.NoDirectPush = true
	})
	if err := nodes[0].Publish(linkChange("quiet", 1)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // a negative check: nothing may come
	if n := nodes[1].rec.keys(); n != 0 {
		t.Fatalf("%d changes arrived with direct push off and no gossip rounds", n)
	}
	if s := nodes[0].Stats(); s.DirectSent != 0 {
		t.Fatalf("%d direct packets sent with NoDirectPush", s.DirectSent)
	}
}

// TestPackDirectSplitsByBudget packs changes into messages no bigger than
// the budget (but at least one change each), in order, losing none.
func TestPackDirectSplitsByBudget(t *testing.T) {
	var batch []change.Change
	for i := range 300 {
		batch = append(batch, linkChange(fmt.Sprintf("pack-%03d", i), uint64(i+1)))
	}
	const budget = 700
	var got []change.Change
	msgs := 0
	for i := 0; i < len(batch); {
		var msg []byte
		next := 0
		msg, next = packDirect(nil, batch, i, budget)
		if next <= i {
			t.Fatalf("no progress at %d", i)
		}
		if len(msg) > budget {
			t.Fatalf("message of %d bytes over the %d budget", len(msg), budget)
		}
		if msg[0] != msgDirectChanges {
			t.Fatalf("type %#x", msg[0])
		}
		cs, err := decodeMessage(msg, nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, cs...)
		i = next
		msgs++
	}
	if len(got) != len(batch) {
		t.Fatalf("%d changes out of %d", len(got), len(batch))
	}
	for i := range got {
		if got[i].Key != batch[i].Key || got[i].Version != batch[i].Version {
			t.Fatalf("change %d: %+v, want %+v", i, got[i], batch[i])
		}
	}
	if msgs < 2 {
		t.Fatalf("%d messages: the budget did not split", msgs)
	}
	// One change bigger than the budget still goes, alone.
	if msg, next := packDirect(nil, batch[:2], 0, 10); next != 1 || len(msg) <= 10 {
		t.Fatalf("oversized single change: next %d, %d bytes", next, len(msg))
	}
}
