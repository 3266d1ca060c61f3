package ledger

import (
	"context"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

// heldMovements is a FeedReader over movements held in memory: only
// ReadFeed's own work (the merge and the cursors) is measured.
type heldMovements map[int][]store.Movement

func (h heldMovements) LedgerHeads(context.Context) ([]uint64, error) {
	heads := make([]uint64, 1024)
	for p, ms := range h {
		heads[p] = ms[len(ms)-1].Seq
	}
	return heads, nil
}

func (h heldMovements) PartitionMovements(_ context.Context, p int, after uint64, limit int) ([]store.Movement, error) {
	ms := h[p]
	for len(ms) > 0 && ms[0].Seq <= after {
		ms = ms[1:]
	}
	return ms[:min(limit, len(ms))], nil
}

// BenchmarkReadFeedMerge merges a feed page of 1000 movements out of 1024
// partitions that moved 16 times each (a busy second of writes spread over
// every partition).
func BenchmarkReadFeedMerge(b *testing.B) {
	h := heldMovements{}
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	for p := range 1024 {
		for i := range 16 {
			h[p] = append(h[p], store.Movement{Partition: p, Seq: uint64(i + 1), At: t0.Add(time.Duration(i*1024+(p*7919)%1024) * time.Microsecond)})
		}
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		got, _, err := ReadFeed(ctx, h, nil, store.MaxMovementsLimit)
		if err != nil || len(got) != store.MaxMovementsLimit {
			b.Fatalf("read %d: %v", len(got), err)
		}
	}
}
