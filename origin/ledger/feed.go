package ledger

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// Cursor is a position in the movement feed: for each partition, the seq
// of the last movement delivered. Partitions are separate logs (separate
// Redis Cluster slots, with no order between them), so a single number
// could not say what was delivered; a vector can, which is what makes the
// feed free of gaps and duplicates: a reader resuming from a cursor gets
// exactly the movements of each partition after its position.
type Cursor [keys.Partitions]uint64

// ErrCursor marks a cursor string that does not parse.
var ErrCursor = errors.New("invalid feed cursor")

// String encodes the cursor: base64url of the 64 positions as uvarints.
func (c *Cursor) String() string {
	b := make([]byte, 0, keys.Partitions*2)
	for _, p := range c {
		b = binary.AppendUvarint(b, p)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseCursor decodes String's form; "" is the start of the feed.
func ParseCursor(s string) (Cursor, error) {
	var c Cursor
	if s == "" {
		return c, nil
	}
	if len(s) > 1024 {
		return c, fmt.Errorf("%w: too long", ErrCursor)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, fmt.Errorf("%w: %v", ErrCursor, err)
	}
	for i := range c {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return c, fmt.Errorf("%w: partition %d", ErrCursor, i)
		}
		c[i], b = v, b[n:]
	}
	if len(b) != 0 {
		return c, fmt.Errorf("%w: trailing bytes", ErrCursor)
	}
	return c, nil
}

// ReadFeed returns up to limit movements after c, every SKU's, and the
// cursor after the last one returned. Each partition's movements come in
// seq order; across partitions they are merged by time (then partition),
// so the feed reads in about the order things happened. Each movement's
// Cursor is the feed cursor just after it (an SSE event id).
func ReadFeed(ctx context.Context, s FeedReader, c Cursor, limit int) ([]store.Movement, Cursor, error) {
	if limit <= 0 || limit > store.MaxMovementsLimit {
		limit = store.MaxMovementsLimit
	}
	heads, err := s.LedgerHeads(ctx)
	if err != nil {
		return nil, c, err
	}
	var queues [keys.Partitions][]store.Movement
	for p, h := range heads {
		if p >= keys.Partitions || h <= c[p] {
			continue
		}
		if queues[p], err = s.PartitionMovements(ctx, p, c[p], limit); err != nil {
			return nil, c, err
		}
	}
	var out []store.Movement
	for len(out) < limit {
		best := -1
		for p := range queues {
			if len(queues[p]) == 0 {
				continue
			}
			if best < 0 || queues[p][0].At.Before(queues[best][0].At) {
				best = p
			}
		}
		if best < 0 {
			break
		}
		m := queues[best][0]
		queues[best] = queues[best][1:]
		c[best] = m.Seq
		m.Cursor = c.String()
		out = append(out, m)
	}
	return out, c, nil
}
