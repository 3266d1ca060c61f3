package gossip

import (
	"time"
)

// failedMember is a member that left the alive set, kept as a reconnect
// candidate for ReconnectTimeout.
type failedMember struct {
	addr  string
	since time.Time
}

// rejoinLoop keeps the pool whole. memberlist alone does not: a node whose
// initial join failed stays alone, and after a partition longer than
// GossipToTheDeadTime neither side ever contacts the other again. Every
// RejoinInterval, a node that is alone retries Config.Join; otherwise it
// tries one failed member. One attempt per tick bounds the cost of many
// departed members to one dial per interval.
func (n *Node) rejoinLoop() {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.RejoinInterval)
	defer t.Stop()
	for {
		select {
		case <-n.done:
			return
		case <-t.C:
		}
		if n.left.Load() || n.closed.Load() {
			continue
		}
		if len(n.cfg.Join) > 0 && n.NumMembers() <= 1 {
			if k, err := n.Join(n.cfg.Join); err == nil {
				n.log.Info("gossip: joined", "peers_contacted", k, "members", n.NumMembers())
			} else {
				n.log.Debug("gossip: rejoin failed", "err", err)
			}
			continue
		}
		if name, addr, ok := n.reconnectCandidate(time.Now()); ok {
			if _, err := n.Join([]string{addr}); err == nil {
				n.log.Info("gossip: reconnected to failed member", "member", name, "addr", addr)
			} else {
				n.log.Debug("gossip: reconnect failed", "member", name, "addr", addr, "err", err)
			}
		}
	}
}

// reconnectCandidate expires old candidates and picks one of the rest (map
// order varies, which spreads attempts over them).
func (n *Node) reconnectCandidate(now time.Time) (name, addr string, ok bool) {
	n.failedMu.Lock()
	defer n.failedMu.Unlock()
	for k, f := range n.failed {
		if now.Sub(f.since) > n.cfg.ReconnectTimeout {
			delete(n.failed, k)
			continue
		}
		if !ok {
			name, addr, ok = k, f.addr, true
		}
	}
	return name, addr, ok
}
