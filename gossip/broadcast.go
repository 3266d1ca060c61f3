package gossip

import (
	"strconv"

	"github.com/hashicorp/memberlist"

	"github.com/shortstock/shortstock/internal/change"
)

// changeBroadcast is one change queued for gossip. It is a
// memberlist.NamedBroadcast named by the change's key, so queueing a newer
// change for a key replaces (invalidates) the older one still waiting: a
// burst of writes to one hot key costs one slot and one transmission
// series, and nobody receives a version that is already superseded at the
// sender.
//
// Each broadcast is a single change (~20-100 bytes with its type byte);
// memberlist packs as many broadcasts as fit into each compound packet
// (GetBroadcasts(overhead, limit)), so packing several changes into one
// message ourselves would only make supersede coarser.
type changeBroadcast struct {
	key string
	msg []byte
}

var _ memberlist.NamedBroadcast = (*changeBroadcast)(nil)

func newChangeBroadcast(c change.Change) *changeBroadcast {
	name, _ := seenKey(c)
	return &changeBroadcast{
		key: name,
		msg: appendChangeMessage(make([]byte, 0, 1+change.MaxEncodedLen), c),
	}
}

// seenKey is what the seen cache and the broadcast queue know a change by:
// a write by its key and version, so a newer write supersedes an older
// one; a purge (version 0, changes no data) by its place in the log, so it
// supersedes nothing and nothing supersedes it.
func seenKey(c change.Change) (string, uint64) {
	if c.Purge != 0 {
		return "purge/" + strconv.Itoa(c.Partition) + "/" + strconv.FormatUint(c.Seq, 10), 1
	}
	return c.Key, c.Version
}

// Name is the change's key: memberlist keeps one queued broadcast per name.
func (b *changeBroadcast) Name() string { return b.key }

// Invalidates reports whether b replaces other: the same key. Callers only
// queue a change that is at least as new as anything seen for its key (see
// Node.enqueue), so "same key" means "older or equal".
func (b *changeBroadcast) Invalidates(other memberlist.Broadcast) bool {
	nb, ok := other.(memberlist.NamedBroadcast)
	return ok && nb.Name() == b.key
}

// Message returns the encoded message; memberlist must not modify it.
func (b *changeBroadcast) Message() []byte { return b.msg }

// Finished is called when the broadcast leaves the queue (sent enough
// times, superseded or pruned); nothing is waiting for it.
func (b *changeBroadcast) Finished() {}
