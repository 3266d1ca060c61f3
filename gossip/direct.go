package gossip

import (
	"sync"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/shortstock/shortstock/internal/change"
)

// directOverhead is what memberlist adds around a user message in a packet:
// the message type, the label header, encryption (version, nonce, tag) and
// a CRC, rounded up generously.
const directOverhead = 96

// directQueue holds the changes published since the direct loop last ran.
// Publish only appends and nudges; the loop does the sending, so Publish
// never waits on the network, and changes published while a batch is being
// sent go out together in the next one.
type directQueue struct {
	mu      sync.Mutex
	pending []change.Change
	kick    chan struct{} // capacity 1
}

// pushDirect queues c for the direct loop. The queue is bounded like the
// broadcast queue: beyond MaxQueuedBroadcasts the oldest changes leave the
// direct path for gossip alone. Caller holds enqueueMu.
func (n *Node) pushDirect(c change.Change) {
	q := &n.direct
	q.mu.Lock()
	if len(q.pending) >= n.cfg.MaxQueuedBroadcasts {
		drop := len(q.pending) - n.cfg.MaxQueuedBroadcasts + 1
		for _, old := range q.pending[:drop] {
			n.queueLocked(old)
		}
		q.pending = append(q.pending[:0], q.pending[drop:]...)
		n.stats.pruned.Add(uint64(drop))
	}
	q.pending = append(q.pending, c)
	q.mu.Unlock()
	select {
	case q.kick <- struct{}{}:
	default: // the loop is already due to run
	}
}

// directLoop sends every batch of published changes straight to each alive
// member, packed into as few packets as fit UDPBufferSize.
func (n *Node) directLoop() {
	defer n.wg.Done()
	var batch []change.Change
	var msg []byte
	var members []memberlist.Node
	budget := n.cfg.UDPBufferSize - directOverhead - len(labelPrefix) - len(n.cfg.Region)
	pace := time.NewTimer(time.Hour)
	pace.Stop()
	defer pace.Stop()
	var lastSend time.Time
	for {
		select {
		case <-n.done:
			return
		case <-n.direct.kick:
		}
		// A change after a quiet spell goes at once; changes that follow
		// within DirectPushInterval wait for the rest of it and go
		// together, so a steady stream of single-write commits costs every
		// member one packet per interval, not one per write.
		if wait := n.cfg.DirectPushInterval - time.Since(lastSend); wait > 0 {
			pace.Reset(wait)
			select {
			case <-n.done:
				return
			case <-pace.C:
			}
		}
		lastSend = time.Now()
		q := &n.direct
		q.mu.Lock()
		batch, q.pending = q.pending, batch[:0]
		q.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		if ml := n.ml.Load(); ml != nil {
			// Copies, not ml.Members(): see peers (rounds.go).
			members = n.allPeers(members[:0])
			for i := 0; i < len(batch); {
				msg, i = packDirect(msg[:0], batch, i, budget)
				n.sendDirect(ml, members, msg)
			}
		}
		// The gossip copies (repairs of a lost packet) are queued only
		// now, in publication order, so none can overtake its direct
		// packet: a member that got the value-less copy first would drop
		// the key and refetch it.
		n.enqueueMu.Lock()
		for _, c := range batch {
			n.queueLocked(c)
		}
		n.enqueueMu.Unlock()
		clear(batch) // drop the keys' strings until the next batch
	}
}

// packDirect appends to msg a direct message holding batch[i:] up to budget
// bytes (always at least one change) and returns it with the index of the
// first change left out.
func packDirect(msg []byte, batch []change.Change, i, budget int) ([]byte, int) {
	msg = append(msg, msgDirectChanges)
	for n := 0; i < len(batch) && n < maxChangesPerMessage; n++ {
		before := len(msg)
		msg = batch[i].AppendBinary(msg)
		if len(msg) > budget && n > 0 {
			return msg[:before], i
		}
		i++
	}
	return msg, i
}

// sendDirect sends msg to every member in members (never this node). A
// send that fails is counted; gossip's copy repairs it.
func (n *Node) sendDirect(ml *memberlist.Memberlist, members []memberlist.Node, msg []byte) {
	if n.sealer != nil {
		n.sendSealed(members, msg)
		return
	}
	for i := range members {
		if err := ml.SendBestEffort(&members[i], msg); err != nil {
			n.stats.directFailed.Add(1)
			continue
		}
		n.stats.directSent.Add(1)
	}
}
