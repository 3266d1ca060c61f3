package gossip

import (
	"fmt"

	"github.com/shortstock/shortstock/internal/change"
)

// msgChanges is the first byte of a user message carrying one or more
// changes back to back in change's binary codec. The type byte lets later
// versions add message kinds that old members reject (and count) instead of
// misreading.
const msgChanges byte = 0x01

// msgDirectChanges is the first byte of a message a publisher sent straight
// to one member (see Config.NoDirectPush): the same changes codec, but the
// receiver does not relay them, because the publisher sent the same
// message to every member already; gossip's own copy is the repair path.
const msgDirectChanges byte = 0x02

// maxChangesPerMessage bounds the work one message can cause. A UDP packet
// holds far fewer; the bound matters for stream (TCP) user messages, which
// can be large.
const maxChangesPerMessage = 1024

// appendChangeMessage appends a message carrying cs to b.
func appendChangeMessage(b []byte, cs ...change.Change) []byte {
	b = append(b, msgChanges)
	for _, c := range cs {
		b = c.AppendBinary(b)
	}
	return b
}

// decodeMessage appends the changes in msg to dst. It accepts a message only
// if it is whole: a known type, at least one change, every change valid and
// nothing left over; otherwise it returns dst unchanged and an error
// wrapping ErrMalformedMessage, so a corrupt message never delivers part of
// itself.
func decodeMessage(msg []byte, dst []change.Change) ([]change.Change, error) {
	if len(msg) < 2 {
		return dst, fmt.Errorf("%w: %d bytes", ErrMalformedMessage, len(msg))
	}
	if msg[0] != msgChanges && msg[0] != msgDirectChanges {
		return dst, fmt.Errorf("%w: unknown type %#x", ErrMalformedMessage, msg[0])
	}
	n0 := len(dst)
	rest := msg[1:]
	for len(rest) > 0 {
		if len(dst)-n0 == maxChangesPerMessage {
			return dst[:n0], fmt.Errorf("%w: more than %d changes", ErrMalformedMessage, maxChangesPerMessage)
		}
		c, r, err := change.Decode(rest)
		if err != nil {
			return dst[:n0], fmt.Errorf("%w: change %d: %w", ErrMalformedMessage, len(dst)-n0, err)
		}
		dst = append(dst, c)
		rest = r
	}
	return dst, nil
}
