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
	if d := nodes[0].Stats().QueueDepth; d != changes {
		t.Errorf("publisher's gossip queue holds %d changes, want %d (the repair copies)", d, changes)
	}
	if s := nodes[0].Stats(); s.DirectSent == 0 || s.DirectFailed != 0 {
		t.Errorf("publisher stats: %d direct packets sent, %d failed", s.DirectSent, s.DirectFailed)
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
