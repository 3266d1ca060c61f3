package ledger

import (
	"container/heap"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// Cursor is a position in the movement feed: for each partition (index),
// the seq of the last movement delivered; partitions past its length are at
// 0. Partitions are separate logs (separate Redis Cluster slots, with no
// order between them), so a single number could not say what was
// delivered; a vector can, which is what makes the feed free of gaps and
// duplicates: a reader resuming from a cursor gets exactly the movements of
// each partition after its position.
type Cursor []uint64

// ErrCursor marks a cursor string that does not parse.
var ErrCursor = errors.New("invalid feed cursor")

// cursorPrefix starts the sparse form String writes. '.' is not in the
// base64url alphabet, so no cursor of the older dense form starts so.
const cursorPrefix = "2."

// maxCursorLen bounds a cursor string: every partition of the largest
// count at a large seq.
const maxCursorLen = 256 << 10

// legacyCursorLen is the number of positions of the older dense form (one
// uvarint per partition of a 64-partition store, base64url).
const legacyCursorLen = 64

// At returns the position of partition p (0 past the cursor's length).
func (c Cursor) At(p int) uint64 {
	if p < 0 || p >= len(c) {
		return 0
	}
	return c[p]
}

// Equal reports whether c and d are the same position (missing entries
// count as 0).
func (c Cursor) Equal(d Cursor) bool {
	for i := range max(len(c), len(d)) {
		if c.At(i) != d.At(i) {
			return false
		}
	}
	return true
}

// String encodes the cursor sparsely, so its length grows with the
// partitions that moved, not with the partition count: "2." then base64url
// of (gap, seq) uvarint pairs for the non-zero positions, gap being the
// partition's distance from the previous one listed (the first from -1).
func (c Cursor) String() string {
	var b []byte
	last := -1
	for p, v := range c {
		if v == 0 {
			continue
		}
		b = binary.AppendUvarint(b, uint64(p-last))
		b = binary.AppendUvarint(b, v)
		last = p
	}
	return cursorPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// ParseCursor decodes String's form, and the older dense form (64
// positions); "" is the start of the feed.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return nil, nil
	}
	if len(s) > maxCursorLen {
		return nil, fmt.Errorf("%w: too long", ErrCursor)
	}
	sparse := strings.HasPrefix(s, cursorPrefix)
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(s, cursorPrefix))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCursor, err)
	}
	if !sparse {
		c := make(Cursor, legacyCursorLen)
		for i := range c {
			v, n := binary.Uvarint(b)
			if n <= 0 {
				return nil, fmt.Errorf("%w: partition %d", ErrCursor, i)
			}
			c[i], b = v, b[n:]
		}
		if len(b) != 0 {
			return nil, fmt.Errorf("%w: trailing bytes", ErrCursor)
		}
		return c, nil
	}
	var c Cursor
	last := -1
	for len(b) > 0 {
		gap, n := binary.Uvarint(b)
		if n <= 0 || gap == 0 || gap > uint64(keys.MaxPartitions-1-last) {
			return nil, fmt.Errorf("%w: partition after %d", ErrCursor, last)
		}
		b = b[n:]
		v, n := binary.Uvarint(b)
		if n <= 0 || v == 0 {
			return nil, fmt.Errorf("%w: position of partition %d", ErrCursor, last+int(gap))
		}
		b = b[n:]
		last += int(gap)
		c = append(c, make(Cursor, last+1-len(c))...)
		c[last] = v
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
	if len(c) > len(heads) {
		return nil, c, fmt.Errorf("%w: partition %d of a store of %d", ErrCursor, len(c)-1, len(heads))
	}
	c = append(make(Cursor, 0, len(heads)), c...)
	c = c[:len(heads)]
	// Only partitions that moved past the cursor cost a read.
	moved := make(map[int]uint64)
	for p, h := range heads {
		if h > c[p] {
			moved[p] = c[p]
		}
	}
	queues, err := readPartitions(ctx, s, moved, limit)
	if err != nil {
		return nil, c, err
	}
	// Merged through a heap of the partitions' next movements: a read
	// after a busy second has hundreds of partitions to merge.
	h := make(feedHeap, 0, len(queues))
	for p, q := range queues {
		if len(q) > 0 {
			h = append(h, feedQueue{p: p, q: q})
		}
	}
	heap.Init(&h)
	var out []store.Movement
	for len(out) < limit && len(h) > 0 {
		p, m := h[0].p, h[0].q[0]
		if h[0].q = h[0].q[1:]; len(h[0].q) == 0 {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
		c[p] = m.Seq
		m.Cursor = c.String()
		out = append(out, m)
	}
	return out, c, nil
}

// readPartitions reads the movements of each partition in after, in one
// call when the store can (ManyPartitionsReader).
func readPartitions(ctx context.Context, s FeedReader, after map[int]uint64, limit int) (map[int][]store.Movement, error) {
	if len(after) == 0 {
		return nil, nil
	}
	if m, ok := s.(ManyPartitionsReader); ok {
		return m.ManyPartitionMovements(ctx, after, limit)
	}
	out := make(map[int][]store.Movement, len(after))
	for p, a := range after {
		q, err := s.PartitionMovements(ctx, p, a, limit)
		if err != nil {
			return nil, err
		}
		out[p] = q
	}
	return out, nil
}

// feedQueue is a partition's movements not merged yet (never empty in
// the heap).
type feedQueue struct {
	p int
	q []store.Movement
}

// feedHeap orders the queues by their next movement's time, then
// partition.
type feedHeap []feedQueue

func (h feedHeap) Len() int { return len(h) }
func (h feedHeap) Less(i, j int) bool {
	a, b := h[i].q[0].At, h[j].q[0].At
	return a.Before(b) || a.Equal(b) && h[i].p < h[j].p
}
func (h feedHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *feedHeap) Push(x any)   { *h = append(*h, x.(feedQueue)) }
func (h *feedHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
