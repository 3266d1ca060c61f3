package gossip

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/shortstock/shortstock/internal/keys"
)

// TestLossStillDeliversEverything publishes 200 changes (distinct keys, so
// none supersedes another) into 8 nodes that each lose 5 % of the packets
// they send, and requires every node to get every change: with push gossip
// alone (NoDirectPush), relaying makes each change reach a node over many
// independent paths. (With direct push, a change whose direct packet and
// gossip copies are all lost is repaired by the change log, not by gossip:
// see the edge's gap and heads catch-up.)
func TestLossStillDeliversEverything(t *testing.T) {
	const size, changes = 8, 200
	nodes := startCluster(t, size, func(_ int, c *Config) { c.NoDirectPush = true })
	for _, n := range nodes {
		n.ft.SetLoss(0.05)
	}
	for i := range changes {
		if err := nodes[i%size].Publish(linkChange(fmt.Sprintf("loss-%d", i), 1)); err != nil {
			t.Fatal(err)
		}
		if i%20 == 19 {
			time.Sleep(10 * time.Millisecond) // bursts, like a busy origin
		}
	}
	want := changes // every node gets all but the ones it published itself
	got := func() (total, worst int) {
		worst = changes
		for i, n := range nodes {
			own := changes / size
			if i < changes%size {
				own++
			}
			k := n.rec.keys() + own
			total += k
			worst = min(worst, k)
		}
		return total, worst
	}
	deadline := time.Now().Add(6 * time.Second)
	for {
		total, worst := got()
		if worst == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 6s: delivered fraction %.4f, worst node %d/%d", float64(total)/float64(size*changes), worst, changes)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var dropped uint64
	for _, n := range nodes {
		dropped += n.ft.Dropped()
	}
	if dropped == 0 {
		t.Error("the fault transports dropped nothing: loss was not injected")
	}
	t.Logf("all %d nodes got all %d changes; %d packets dropped by 5%% loss", size, changes, dropped)
}

// TestPartitionThenHeal cuts one edge off an origin and two edges, checks
// that a change published meanwhile does not reach it, heals, and checks
// that the pool re-forms, that the edge learns the origin's newer
// watermarks (how it detects what it missed) and that new changes reach it.
func TestPartitionThenHeal(t *testing.T) {
	var heads [keys.DefaultPartitions]atomic.Uint64
	type seenMarks struct {
		mu   sync.Mutex
		from string
		w    []uint64
	}
	var edgeMarks seenMarks
	nodes := startCluster(t, 4, func(i int, c *Config) {
		switch i {
		case 0:
			c.LocalWatermarks = func() []uint64 {
				w := make([]uint64, keys.DefaultPartitions)
				for p := range w {
					w[p] = heads[p].Load()
				}
				return w
			}
		case 3:
			c.OnRemoteWatermarks = func(from string, w []uint64) {
				edgeMarks.mu.Lock()
				edgeMarks.from, edgeMarks.w = from, w
				edgeMarks.mu.Unlock()
			}
		}
	})
	origin, cut := nodes[0], nodes[3]
	if origin.Role() != RoleOrigin || cut.Role() != RoleEdge {
		t.Fatalf("roles: origin %v, edge %v", origin.Role(), cut.Role())
	}
	if m := cut.Members(); m[0].Role != RoleOrigin {
		t.Errorf("edge sees the origin as %v", m[0].Role)
	}

	// Cut node 3 off, on both sides (inbound streams are matched only on
	// the dialer's side; see FaultTransport).
	for _, n := range nodes[:3] {
		n.ft.Partition(cut.LocalAddr())
		cut.ft.Partition(n.LocalAddr())
	}
	start := time.Now()
	waitFor(t, 5*time.Second, "the rest declare the cut node dead", func() bool {
		return origin.NumMembers() == 3 && nodes[1].NumMembers() == 3 && nodes[2].NumMembers() == 3
	})

	missed := linkChange("during-partition", 1)
	heads[missed.Partition].Store(missed.Seq)
	if err := origin.Publish(missed); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "connected edges got the change", func() bool {
		return nodes[1].rec.version(missed.Key) == 1 && nodes[2].rec.version(missed.Key) == 1
	})
	time.Sleep(200 * time.Millisecond)
	if cut.rec.version(missed.Key) != 0 {
		t.Fatal("the cut node got a change through the partition")
	}

	t.Logf("partition detected after %v", time.Since(start))
	for _, n := range nodes {
		n.ft.Heal()
	}
	start = time.Now()
	waitFor(t, 10*time.Second, "the pool re-forms", func() bool {
		for _, n := range nodes {
			if n.NumMembers() != 4 {
				return false
			}
		}
		return true
	})
	t.Logf("pool re-formed %v after healing", time.Since(start))
	waitFor(t, 10*time.Second, "the healed edge learns the origin's watermarks", func() bool {
		edgeMarks.mu.Lock()
		defer edgeMarks.mu.Unlock()
		return edgeMarks.from == origin.Name() && edgeMarks.w[missed.Partition] >= missed.Seq
	})
	t.Logf("watermarks arrived %v after healing", time.Since(start))
	after := linkChange("after-heal", 1)
	if err := origin.Publish(after); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "a change after healing reaches the healed edge", func() bool {
		return cut.rec.version(after.Key) == 1
	})
}

// TestFaultTransport exercises the wrapper directly on two raw transports.
func TestFaultTransport(t *testing.T) {
	newNT := func() *memberlist.NetTransport {
		nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
			BindAddrs: []string{"127.0.0.1"},
			Logger:    newMemberlistLogger(testLogger()),
		})
		if err != nil {
			t.Fatal(err)
		}
		return nt
	}
	a := NewFaultTransport(newNT(), 1)
	bNT := newNT()
	b := NewFaultTransport(bNT, 2)
	t.Cleanup(func() { _ = a.Shutdown(); _ = b.Shutdown(); _ = b.Shutdown() })
	bAddr := fmt.Sprintf("127.0.0.1:%d", bNT.GetAutoBindPort())

	recv := func(within time.Duration) (string, bool) {
		select {
		case p := <-b.PacketCh():
			return string(p.Buf), true
		case <-time.After(within):
			return "", false
		}
	}
	send := func(s string) {
		if _, err := a.WriteTo([]byte(s), bAddr); err != nil {
			t.Fatal(err)
		}
	}

	send("plain")
	if got, ok := recv(time.Second); !ok || got != "plain" {
		t.Fatalf("no fault: got %q, %v", got, ok)
	}

	a.SetLoss(1)
	send("lost")
	if got, ok := recv(100 * time.Millisecond); ok {
		t.Fatalf("loss 1: got %q", got)
	}
	a.SetLoss(0)

	a.SetDelay(150 * time.Millisecond)
	start := time.Now()
	send("late")
	if got, ok := recv(time.Second); !ok || got != "late" || time.Since(start) < 140*time.Millisecond {
		t.Fatalf("delay: got %q, %v after %v", got, ok, time.Since(start))
	}
	a.SetDelay(0)

	a.Partition(bAddr)
	send("cut")
	if got, ok := recv(100 * time.Millisecond); ok {
		t.Fatalf("partitioned: got %q", got)
	}
	if _, err := a.DialTimeout(bAddr, time.Second); !errors.Is(err, ErrPartitioned) {
		t.Fatalf("dial through partition = %v", err)
	}
	a.Heal()
	send("healed")
	if got, ok := recv(time.Second); !ok || got != "healed" {
		t.Fatalf("healed: got %q, %v", got, ok)
	}
	if d := a.Dropped(); d != 3 {
		t.Errorf("Dropped() = %d, want 3 (loss, partition, dial)", d)
	}

	// A delayed packet still pending at Shutdown is cancelled, and
	// Shutdown does not wait for it.
	a.SetDelay(5 * time.Second)
	send("never")
	start = time.Now()
	if err := a.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("Shutdown waited %v for a delayed packet", time.Since(start))
	}
	if _, err := a.WriteTo([]byte("x"), bAddr); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteTo after Shutdown = %v", err)
	}
}

// TestLongPartitionHealsByReconnect makes memberlist give up on dead
// members almost at once (GossipToTheDeadTime 50ms), so only the node's
// reconnect loop can bring the two sides back together after healing.
func TestLongPartitionHealsByReconnect(t *testing.T) {
	nodes := startCluster(t, 3, func(_ int, c *Config) {
		c.GossipToTheDeadTime = 50 * time.Millisecond
		c.SuspicionMaxTimeoutMult = 1 // the lone side gets no confirmations
	})
	cut := nodes[2]
	for _, n := range nodes[:2] {
		n.ft.Partition(cut.LocalAddr())
		cut.ft.Partition(n.LocalAddr())
	}
	waitFor(t, 6*time.Second, "both sides see the split", func() bool {
		return nodes[0].NumMembers() == 2 && nodes[1].NumMembers() == 2 && cut.NumMembers() == 1
	})
	time.Sleep(200 * time.Millisecond) // past GossipToTheDeadTime
	for _, n := range nodes {
		n.ft.Heal()
	}
	waitFor(t, 10*time.Second, "the pool re-forms", func() bool {
		for _, n := range nodes {
			if n.NumMembers() != 3 {
				return false
			}
		}
		return true
	})
	c := linkChange("reconnected", 1)
	if err := nodes[0].Publish(c); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "a change reaches the reconnected node", func() bool { return cut.rec.version(c.Key) == 1 })
}

// TestWatermarksRelayedByEdges cuts an edge off the origin but not off
// another edge: the origin's watermarks, including ones that advance after
// the cut, must still reach it through the other edge's push/pull state.
func TestWatermarksRelayedByEdges(t *testing.T) {
	var head atomic.Uint64
	var mu sync.Mutex
	got := map[string]uint64{} // from -> mark of partition 0
	nodes := startCluster(t, 3, func(i int, c *Config) {
		// The relay takes two push/pulls in a row (origin <-> middle, then
		// middle <-> far), each node picking a random peer per interval; a
		// short interval keeps the wait well inside the deadline under -race.
		c.PushPullInterval = 250 * time.Millisecond
		switch i {
		case 0:
			c.LocalWatermarks = func() []uint64 {
				w := make([]uint64, keys.DefaultPartitions)
				w[0] = head.Load()
				return w
			}
		case 2:
			c.OnRemoteWatermarks = func(from string, w []uint64) {
				mu.Lock()
				got[from] = max(got[from], w[0])
				mu.Unlock()
			}
		}
	})
	origin, far := nodes[0], nodes[2]
	origin.ft.Partition(far.LocalAddr())
	far.ft.Partition(origin.LocalAddr())
	head.Store(41)
	waitFor(t, 15*time.Second, "the far edge learns the origin's new head through the other edge", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return got[origin.Name()] == 41
	})
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Errorf("watermarks attributed to %v; want only the origin", got)
	}
}
