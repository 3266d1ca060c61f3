package gossip

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/keys"
)

func TestPublishReachesEveryNode(t *testing.T) {
	nodes := startCluster(t, 5, nil)

	c := linkChange("hello", 1)
	if err := nodes[0].Publish(c); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "every other node handled the change", func() bool {
		for _, n := range nodes[1:] {
			if n.rec.version(c.Key) != 1 {
				return false
			}
		}
		return true
	})
	// Any member can publish, not only the first.
	c2 := linkChange("from-edge", 7)
	if err := nodes[3].Publish(c2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "the change from node 3 reached all others", func() bool {
		for i, n := range nodes {
			if i != 3 && n.rec.version(c2.Key) != 7 {
				return false
			}
		}
		return true
	})
	time.Sleep(100 * time.Millisecond) // let relays echo back
	if got := nodes[0].rec.version(c.Key); got != 0 {
		t.Errorf("publisher's own handler got version %d of its change; want none", got)
	}
	for i, n := range nodes {
		if n.rec.count() > 2 {
			t.Errorf("node %d handled %d changes, want at most 2 (echoes must be dropped)", i, n.rec.count())
		}
		if s := n.Stats(); s.DroppedMalformed != 0 || s.DroppedQueueFull != 0 {
			t.Errorf("node %d stats %+v", i, s)
		}
	}
	if d := nodes[1].Stats().Duplicates; d == 0 {
		t.Errorf("node 1 saw no duplicates; relaying should make echoes it drops")
	}
	if got := nodes[2].Members(); len(got) != 5 || got[0].Name != nodeName(0) || got[0].Role != RoleEdge {
		t.Errorf("Members() = %+v", got)
	}
}

func TestSupersedeInQueue(t *testing.T) {
	// No peers: nothing leaves the queue. NoDirectPush: Publish queues
	// the gossip copy itself (with direct push the direct loop does, later).
	n := startNode(t, "alone", "test", func(c *Config) { c.NoDirectPush = true })
	const last = 50
	for v := uint64(1); v <= last; v++ {
		if err := n.Publish(linkChange("hot", v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Publish(linkChange("hot", 10)); err != nil { // older: skipped
		t.Fatal(err)
	}
	if got := n.Stats().QueueDepth; got != 1 {
		t.Fatalf("queue depth %d after %d versions of one key; want 1", got, last)
	}
	msgs := n.queue.GetBroadcasts(0, 1400)
	if len(msgs) != 1 {
		t.Fatalf("got %d queued messages", len(msgs))
	}
	cs, err := decodeMessage(msgs[0], nil)
	if err != nil || len(cs) != 1 || cs[0].Version != last {
		t.Fatalf("queued message = %v, %v; want version %d", cs, err, last)
	}
}

// TestSupersedeDeliversLastVersion: push gossip (NoDirectPush) drops a
// queued change that a newer version of its key supersedes, so a hot key's
// burst costs fewer deliveries, and none goes backwards. Direct push sends
// every version (each carries a sequence number edges check for holes), so
// TestDirectPushDeliversInOrder checks only the order there.
func TestSupersedeDeliversLastVersion(t *testing.T) {
	nodes := startCluster(t, 5, func(_ int, c *Config) { c.NoDirectPush = true })
	const last = 100
	publishBurst(t, nodes, "hot", last)
	for i, n := range nodes[1:] {
		n.rec.mu.Lock()
		calls, back := n.rec.calls, n.rec.backwards
		n.rec.mu.Unlock()
		if back != 0 {
			t.Errorf("node %d: %d deliveries went backwards", i+1, back)
		}
		if calls >= last {
			t.Errorf("node %d handled %d versions of %d: nothing was superseded", i+1, calls, last)
		}
		t.Logf("node %d handled %d of %d versions", i+1, calls, last)
	}
}

func TestNotifyMsgGarbage(t *testing.T) {
	nodes := startCluster(t, 2, nil)
	a, b := nodes[0], nodes[1]
	valid := appendChangeMessage(nil, linkChange("ok", 3))
	wrongPartition := linkChange("ok", 3)
	wrongPartition.Partition = (wrongPartition.Partition + 1) % 64
	garbage := [][]byte{
		nil,
		{},
		{msgChanges},
		{0xff, 1, 2, 3},
		[]byte("hello, world"),
		valid[:len(valid)-1],                     // truncated
		append(append([]byte{}, valid...), 0),    // trailing byte
		appendChangeMessage(nil, wrongPartition), // key not in its partition
		appendChangeMessage(nil, linkChange("ok", 0)), // version 0
	}
	d := &delegate{n: a.Node}
	before := a.Stats()
	for _, g := range garbage {
		d.NotifyMsg(g)
	}
	after := a.Stats()
	if got := after.DroppedMalformed - before.DroppedMalformed; got != uint64(len(garbage)) {
		t.Errorf("malformed counter rose by %d, want %d", got, len(garbage))
	}
	if after.Received != before.Received || after.QueueDepth != 0 || a.seen.len() != 0 {
		t.Errorf("garbage changed state: before %+v after %+v, seen %d", before, after, a.seen.len())
	}

	// The same over the network, from a member (so encryption and label
	// are right and only the payload is bad).
	ml := b.ml.Load()
	addr := memberlist.Address{Addr: a.LocalAddr(), Name: a.Name()}
	for _, g := range garbage[3:] {
		if err := ml.SendToAddress(addr, g); err != nil {
			t.Fatal(err)
		}
	}
	want := after.DroppedMalformed + uint64(len(garbage[3:]))
	waitFor(t, 2*time.Second, "network garbage counted", func() bool { return a.Stats().DroppedMalformed == want })
	// A valid message on the same path is delivered: the path works.
	if err := ml.SendToAddress(addr, valid); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "valid direct message delivered", func() bool { return a.rec.version("l:ok") == 3 })
	if got := a.rec.count(); got != 1 {
		t.Errorf("handler called %d times, want 1 (only the valid message)", got)
	}
}

func TestMergeRemoteStateGarbage(t *testing.T) {
	called := 0
	n := startNode(t, "solo", "test", func(c *Config) {
		c.OnRemoteWatermarks = func(string, []uint64) { called++ }
	})
	d := &delegate{n: n.Node}
	for _, g := range [][]byte{{1}, {9, 2, 1, 'x', 0}, {1, 2, 1, 'x', 3, 1, 2, 3}, {1, 1, 1, 'x', 0, 0}} {
		d.MergeRemoteState(g, false)
	}
	if got := n.Stats().BadState; got != 4 {
		t.Errorf("BadState = %d, want 4", got)
	}
	d.MergeRemoteState(nil, true) // no state at all is not an error
	// Marks of another partition count are refused, not passed on.
	d.MergeRemoteState(appendState(nil, state{Role: RoleOrigin, Name: "o", Source: "o", Watermarks: make([]uint64, 2*keys.DefaultPartitions)}), false)
	if called != 0 || n.Stats().BadState != 5 {
		t.Fatalf("marks of another partition count: callback called %d times, BadState %d; want 0 and 5", called, n.Stats().BadState)
	}
	good := make([]uint64, keys.DefaultPartitions)
	good[5] = 42
	d.MergeRemoteState(appendState(nil, state{Role: RoleOrigin, Name: "o", Source: "o", Watermarks: good}), false)
	if called != 1 || n.Stats().BadState != 5 {
		t.Errorf("callback called %d times, BadState %d; want 1 and 5", called, n.Stats().BadState)
	}
}

func TestPublishValidatesAndClose(t *testing.T) {
	n := startNode(t, "closer", "test", nil)
	if err := n.Publish(change.Change{Key: "nope"}); !errors.Is(err, ErrInvalidChange) {
		t.Errorf("Publish(invalid) = %v, want ErrInvalidChange", err)
	}
	if err := n.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := n.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := n.Shutdown(); err != nil {
		t.Errorf("Shutdown after Close: %v", err)
	}
	if err := n.Publish(linkChange("x", 1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
	if err := n.Leave(time.Second); !errors.Is(err, ErrClosed) {
		t.Errorf("Leave after Close = %v, want ErrClosed", err)
	}
	if _, err := n.Join([]string{"127.0.0.1:1"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Join after Close = %v, want ErrClosed", err)
	}
}

func TestLeaveThenShutdown(t *testing.T) {
	nodes := startCluster(t, 3, nil)
	if err := nodes[2].Leave(time.Second); err != nil {
		t.Fatal(err)
	}
	if err := nodes[2].Shutdown(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "the others drop the node that left", func() bool {
		return nodes[0].NumMembers() == 2 && nodes[1].NumMembers() == 2
	})
}

func TestDeliveryQueueFullDropsAndCounts(t *testing.T) {
	block := make(chan struct{})
	n := startNode(t, "slow", "test", func(c *Config) {
		c.DeliveryQueueSize = 2
		c.Handler = HandlerFunc(func(change.Change) { <-block })
	})
	d := &delegate{n: n.Node}
	done := make(chan struct{})
	go func() { // NotifyMsg must return even though the handler is stuck
		for i := range 10 {
			d.NotifyMsg(appendChangeMessage(nil, linkChange(fmt.Sprintf("k%d", i), 1)))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("NotifyMsg blocked on a full delivery queue")
	}
	s := n.Stats()
	// One in the handler, two queued, the rest dropped (the handler may
	// not have taken the first yet, so 7 or 8).
	if s.DroppedQueueFull < 7 || s.Received != 10 {
		t.Errorf("stats %+v: want 10 received and 7-8 dropped for a full queue", s)
	}
	if s.QueueDepth != 10 {
		t.Errorf("queue depth %d: dropped deliveries must still be relayed", s.QueueDepth)
	}
	close(block)
}

// TestCloseStopsOwnGoroutines checks that every goroutine the package
// starts (delivery, rejoin, fault-transport forwarders) is gone once Close
// returns. memberlist's own goroutines exit asynchronously and are not
// checked.
func TestCloseStopsOwnGoroutines(t *testing.T) {
	nodes := startCluster(t, 2, nil)
	nodes[0].ft.SetDelay(time.Second) // leave a delayed packet pending
	_ = nodes[0].Publish(linkChange("pending", 1))
	time.Sleep(50 * time.Millisecond)
	fns := []string{"(*Node).deliverLoop", "(*Node).rejoinLoop", "(*Node).gossipLoop", "(*FaultTransport).forward"}
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	for _, fn := range fns {
		if !strings.Contains(stacks, "gossip."+fn) {
			t.Fatalf("%s not found while running: the check below would be vacuous", fn)
		}
	}
	for _, n := range nodes {
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// A goroutine that has signalled its WaitGroup can still be on its
	// way out when Close returns: it must be gone soon after, and stay
	// gone.
	deadline := time.Now().Add(2 * time.Second)
	for {
		stacks = string(buf[:runtime.Stack(buf, true)])
		var running []string
		for _, fn := range fns {
			if strings.Contains(stacks, "gossip."+fn) {
				running = append(running, fn)
			}
		}
		if len(running) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v still running 2 s after Close", running)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// publishBurst publishes versions 1..last of one link from nodes[0] and
// waits until every other node holds the last.
func publishBurst(t *testing.T, nodes []*testNode, code string, last uint64) {
	t.Helper()
	for v := uint64(1); v <= last; v++ {
		if err := nodes[0].Publish(linkChange(code, v)); err != nil {
			t.Fatal(err)
		}
	}
	key := linkChange(code, 1).Key
	waitFor(t, 3*time.Second, "every node has the last version", func() bool {
		for _, n := range nodes[1:] {
			if n.rec.version(key) != last {
				return false
			}
		}
		return true
	})
}

// TestDirectPushDeliversInOrder: with direct push, a burst of versions of
// one key reaches every member with the last version and never delivers an
// older one after a newer.
func TestDirectPushDeliversInOrder(t *testing.T) {
	nodes := startCluster(t, 5, nil)
	const last = 100
	publishBurst(t, nodes, "hot", last)
	for i, n := range nodes[1:] {
		n.rec.mu.Lock()
		back := n.rec.backwards
		n.rec.mu.Unlock()
		if back != 0 {
			t.Errorf("node %d: %d deliveries went backwards", i+1, back)
		}
	}
}
