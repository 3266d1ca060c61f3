package gossip

import (
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/shortstock/shortstock/internal/change"
)

// delegate is the Node's face to memberlist: its Delegate (messages,
// broadcasts, push/pull state) and EventDelegate (membership). memberlist
// calls it on its own goroutines, some with its node lock held, so no
// method blocks or calls back into memberlist.
type delegate struct{ n *Node }

var (
	_ memberlist.Delegate      = (*delegate)(nil)
	_ memberlist.EventDelegate = (*delegate)(nil)
)

// metaVersion is the first byte of the node metadata; the second is the
// Role.
const metaVersion byte = 1

// NodeMeta advertises the node's role, so Members can tell origins from
// edges.
func (d *delegate) NodeMeta(limit int) []byte {
	if limit < 2 {
		return nil
	}
	return []byte{metaVersion, byte(d.n.role)}
}

func decodeMeta(b []byte) Role {
	if len(b) >= 2 && b[0] == metaVersion && Role(b[1]).valid() {
		return Role(b[1])
	}
	return 0
}

// maxInlineChanges sizes the stack buffer decoding uses, so a typical
// message (one change, since memberlist compounds broadcasts) costs no
// slice allocation.
const maxInlineChanges = 4

// NotifyMsg receives a user message. memberlist reuses msg after the call
// returns, so nothing may keep it: decoding copies every field out (the key
// becomes a new string). Malformed messages are dropped and counted;
// accepted changes go to a bounded channel without blocking.
func (d *delegate) NotifyMsg(msg []byte) { d.n.handleMsg(msg) }

// handleMsg decodes a message of changes and accepts each; a direct one
// is not relayed.
func (n *Node) handleMsg(msg []byte) {
	var buf [maxInlineChanges]change.Change
	cs, err := decodeMessage(msg, buf[:0])
	if err != nil {
		n.stats.malformed.Add(1)
		n.log.Debug("gossip: dropped malformed message", "bytes", len(msg), "err", err)
		return
	}
	n.stats.received.Add(uint64(len(cs)))
	relay := msg[0] != msgDirectChanges
	for _, c := range cs {
		n.accept(c, relay)
	}
}

// GetBroadcasts hands memberlist the queued changes that fit; memberlist
// packs them into its gossip and probe packets.
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	msgs := d.n.queue.GetBroadcasts(overhead, limit)
	d.n.stats.sent.Add(uint64(len(msgs)))
	return msgs
}

// LocalState is the push/pull state: role, name and watermarks: an
// origin's own change-log heads, or on an edge the freshest origin marks it
// has seen (see relayedMarks).
func (d *delegate) LocalState(join bool) []byte {
	n := d.n
	s := state{Role: n.role, Name: n.cfg.NodeName}
	if n.cfg.LocalWatermarks != nil {
		w := n.cfg.LocalWatermarks()
		if len(w) == n.cfg.Partitions {
			s.Source, s.Watermarks = n.cfg.NodeName, w
		} else if w != nil {
			n.log.Warn("gossip: LocalWatermarks returned the wrong length; sending none",
				"got", len(w), "want", n.cfg.Partitions)
		}
	} else {
		s.Source, s.Watermarks = n.relay.snapshot(time.Now(), n.relayTTL())
	}
	return appendState(make([]byte, 0, 8+len(s.Name)+len(s.Source)+len(s.Watermarks)*4), s)
}

// MergeRemoteState decodes a peer's state, passes any origin watermarks in
// it to Config.OnRemoteWatermarks and, on an edge, keeps them to relay.
func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	n := d.n
	if len(buf) == 0 {
		return
	}
	s, err := decodeState(buf)
	if err != nil {
		n.stats.badState.Add(1)
		n.log.Debug("gossip: dropped malformed push/pull state", "bytes", len(buf), "err", err)
		return
	}
	if len(s.Watermarks) != 0 && len(s.Watermarks) != n.cfg.Partitions {
		// A peer of another partition count: its watermarks mean nothing here.
		n.stats.badState.Add(1)
		n.log.Warn("gossip: ignored watermarks of another partition count", "peer", s.Name, "got", len(s.Watermarks), "want", n.cfg.Partitions)
		return
	}
	if len(s.Watermarks) == 0 || s.Source == n.cfg.NodeName {
		return
	}
	if n.role == RoleEdge {
		n.relay.merge(s.Source, s.Watermarks, s.Role == RoleOrigin, time.Now())
	}
	if n.cfg.OnRemoteWatermarks != nil {
		n.cfg.OnRemoteWatermarks(s.Source, s.Watermarks)
	}
}

// NotifyJoin counts a member that became alive (this node included) and
// forgets it as a reconnect candidate.
func (d *delegate) NotifyJoin(node *memberlist.Node) {
	d.n.alive.Add(1)
	d.n.setPeer(node)
	d.n.failedMu.Lock()
	delete(d.n.failed, node.Name)
	d.n.failedMu.Unlock()
	d.n.log.Debug("gossip: member joined", "member", node.Name, "addr", node.Address())
}

// NotifyLeave uncounts a member that died or left and records it as a
// reconnect candidate. memberlist does not say which of the two it was
// (the Node's State field is not updated), so both are candidates; a node
// that really left stops answering and expires after ReconnectTimeout.
func (d *delegate) NotifyLeave(node *memberlist.Node) {
	d.n.alive.Add(-1)
	d.n.dropPeer(node.Name)
	if node.Name != d.n.cfg.NodeName {
		d.n.failedMu.Lock()
		d.n.failed[node.Name] = failedMember{addr: node.Address(), since: time.Now()}
		d.n.failedMu.Unlock()
	}
	d.n.log.Info("gossip: member left or failed", "member", node.Name, "addr", node.Address())
}

// NotifyUpdate refreshes the member's copy for the gossip rounds.
func (d *delegate) NotifyUpdate(node *memberlist.Node) { d.n.setPeer(node) }
