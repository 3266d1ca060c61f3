package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin/ledger"
	"github.com/shortstock/shortstock/origin/store"
)

// BenchBulk measures a store's bulk job throughput: b.N lines (adjusts of
// +1 over 1000 SKUs, one job per million) queued with CreateJob, untimed,
// then run to the end by one worker with RunJob, timed. It reports
// lines/s; the caller picks the store (disk, Redis, cluster).
func BenchBulk(b *testing.B, s store.Store) { BenchBulkSKUs(b, s, 1000, false) }

// BenchBulkSKUs is BenchBulk with the lines spread over skus SKUs (line i
// adjusts SKU i mod skus): 1000 puts ~16 lines of a SKU in each step of a
// store that runs 16 000 lines a step, b.N gives every line its own. With
// warm, a job that stocks every SKU once runs first, untimed, so the timed
// lines find their SKUs' records (and ledgers) there, as a nightly feed
// over a known catalog does; without it, b.N SKUs are created by the
// timed lines, as a first import does.
func BenchBulkSKUs(b *testing.B, s store.Store, skus int, warm bool) {
	q, ok := s.(store.JobQueue)
	if !ok {
		b.Fatalf("%T has no job queue", s)
	}
	queue := func(prefix string, lines int) []string {
		var ids []string
		for done, k := 0, 0; done < lines; k++ {
			n := min(lines-done, store.MaxJobLines)
			j := store.NewJob{ID: fmt.Sprintf("%s%d", prefix, k), Actor: "bench", Lines: int64(n), CreatedAt: time.Now()}
			for i := range n {
				j.Valid = append(j.Valid, store.JobLine{Line: int64(i + 1), Op: store.OpAdjust,
					SKU: fmt.Sprintf("BULK-%d", (done+i)%skus), Warehouse: "w1", Qty: 1, Reason: "received"})
			}
			if _, err := q.CreateJob(b.Context(), j); err != nil {
				b.Fatal(err)
			}
			ids = append(ids, j.ID)
			done += n
		}
		return ids
	}
	run := func(ids []string) (applied int64) {
		for _, id := range ids {
			for {
				j, err := q.RunJob(b.Context(), id, "bench", time.Now(), time.Minute)
				if err != nil {
					b.Fatal(err)
				}
				if j.Ended() {
					applied += j.Applied
					break
				}
			}
		}
		return applied
	}
	if warm {
		if n := min(skus, b.N); run(queue("warm", n)) != int64(n) {
			b.Fatal("the warm-up job did not apply every line")
		}
	}
	ids := queue("bench", b.N)
	b.ReportAllocs()
	b.ResetTimer()
	applied := run(ids)
	b.StopTimer()
	if applied != int64(b.N) {
		b.Fatalf("applied %d of %d lines", applied, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchPartitionReads measures what a feed read from the start reads from
// s (up to store.MaxMovementsLimit movements of every partition that
// moved): "many" in one ManyPartitionMovements call (the feed's way,
// ledger.ManyPartitionsReader), "each" one PartitionMovements call per
// partition (how the feed read before). want is how many movements the
// partitions hold in all; every read must return them all.
func BenchPartitionReads(b *testing.B, s store.Store, want int) {
	ctx := context.Background()
	heads, err := s.LedgerHeads(ctx)
	if err != nil {
		b.Fatal(err)
	}
	after := map[int]uint64{}
	for p, h := range heads {
		if h > 0 {
			after[p] = 0
		}
	}
	many, ok := s.(ledger.ManyPartitionsReader)
	if !ok {
		b.Fatalf("%T does not read several partitions in one call", s)
	}
	count := func(m map[int][]store.Movement) (n int) {
		for _, ms := range m {
			n += len(ms)
		}
		return n
	}
	b.Run("many", func(b *testing.B) {
		for b.Loop() {
			got, err := many.ManyPartitionMovements(ctx, after, store.MaxMovementsLimit)
			if n := count(got); err != nil || n != want {
				b.Fatalf("read %d movements of %d: %v", n, want, err)
			}
		}
	})
	b.Run("each", func(b *testing.B) {
		for b.Loop() {
			got := map[int][]store.Movement{}
			for p := range after {
				if got[p], err = s.PartitionMovements(ctx, p, 0, store.MaxMovementsLimit); err != nil {
					b.Fatal(err)
				}
			}
			if n := count(got); n != want {
				b.Fatalf("read %d movements of %d", n, want)
			}
		}
	})
}
