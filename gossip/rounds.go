package gossip

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// memberGossipFloor is memberlist's own gossip period: its membership
// messages (alive, suspect, dead) and anything of ours still queued go
// out at least this often. Our changes are sent by gossipLoop every
// Config.GossipInterval while any is queued.
const memberGossipFloor = 200 * time.Millisecond

// gossipLoop sends the queued changes to GossipNodes random members every
// GossipInterval, as memberlist's gossip would, but only while changes
// are queued: memberlist's own timer wakes every interval whether or not
// there is anything to send, which at 25 ms cost an idle node most of its
// CPU (0.8 % of a core of about 1.2 %, docs/idle.md).
func (n *Node) gossipLoop() {
	defer n.wg.Done()
	t := time.NewTimer(time.Hour)
	t.Stop()
	var msg []byte
	var members []memberlist.Node
	for {
		if n.queue.NumQueued() == 0 {
			select {
			case <-n.done:
				return
			case <-n.gossipKick:
			}
		}
		t.Reset(n.cfg.GossipInterval)
		select {
		case <-n.done:
			t.Stop()
			return
		case <-t.C:
		}
		ml := n.ml.Load()
		if ml == nil {
			continue
		}
		n.stats.rounds.Add(1)
		members = n.gossipTargets(members[:0])
		msg = n.gossipRound(ml, members, msg)
	}
}

// peers are copies of the other members, made in memberlist's event
// callbacks, which run under its node lock. The *Node values Members
// returns point into memberlist's state, which it rewrites (protocol
// versions on every alive message) while a send reads them: a data race.
type peers struct {
	mu    sync.Mutex
	nodes map[string]memberlist.Node
}

// setPeer records a copy of node (memberlist holds its lock: the copy is
// consistent); this node itself is left out.
func (n *Node) setPeer(node *memberlist.Node) {
	if node.Name == n.cfg.NodeName {
		return
	}
	cp := *node
	n.peers.mu.Lock()
	if n.peers.nodes == nil {
		n.peers.nodes = make(map[string]memberlist.Node)
	}
	n.peers.nodes[node.Name] = cp
	n.peers.mu.Unlock()
}

func (n *Node) dropPeer(name string) {
	n.peers.mu.Lock()
	delete(n.peers.nodes, name)
	n.peers.mu.Unlock()
}

// kickGossip wakes gossipLoop; it never blocks.
func (n *Node) kickGossip() {
	select {
	case n.gossipKick <- struct{}{}:
	default:
	}
}

// allPeers appends copies of every alive member other than this node.
func (n *Node) allPeers(dst []memberlist.Node) []memberlist.Node {
	n.peers.mu.Lock()
	for _, m := range n.peers.nodes {
		dst = append(dst, m)
	}
	n.peers.mu.Unlock()
	return dst
}

// gossipTargets returns copies of up to GossipNodes random alive members
// other than this node.
func (n *Node) gossipTargets(dst []memberlist.Node) []memberlist.Node {
	dst = n.allPeers(dst)
	rand.Shuffle(len(dst), func(i, j int) { dst[i], dst[j] = dst[j], dst[i] })
	return dst[:min(len(dst), n.cfg.GossipNodes)]
}

// gossipRound sends each target one msgChanges message of the queued
// changes that fit a packet (the queue counts the transmissions) and
// returns msg for reuse.
func (n *Node) gossipRound(ml *memberlist.Memberlist, targets []memberlist.Node, msg []byte) []byte {
	budget := n.cfg.UDPBufferSize - directOverhead - len(labelPrefix) - len(n.cfg.Region) - 1
	for i := range targets {
		m := &targets[i]
		// Each queued broadcast is one msgChanges message of one change;
		// without their type bytes they concatenate into one message.
		bs := n.queue.GetBroadcasts(-1, budget)
		if len(bs) == 0 {
			break
		}
		n.stats.sent.Add(uint64(len(bs)))
		msg = append(msg[:0], msgChanges)
		for _, b := range bs {
			msg = append(msg, b[1:]...)
		}
		if err := ml.SendBestEffort(m, msg); err != nil {
			n.log.Debug("gossip: round send failed", "to", m.Name, "err", err)
		}
	}
	return msg
}
