package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

// BenchBulk measures a store's bulk job throughput: b.N lines (adjusts of
// +1 over 1000 SKUs, one job per million) queued with CreateJob, untimed,
// then run to the end by one worker with RunJob, timed. It reports
// lines/s; the caller picks the store (disk, Redis, cluster).
func BenchBulk(b *testing.B, s store.Store) {
	q, ok := s.(store.JobQueue)
	if !ok {
		b.Fatalf("%T has no job queue", s)
	}
	var ids []string
	for done, k := 0, 0; done < b.N; k++ {
		n := min(b.N-done, store.MaxJobLines)
		j := store.NewJob{ID: fmt.Sprintf("bench%d", k), Actor: "bench", Lines: int64(n), CreatedAt: time.Now()}
		for i := range n {
			j.Valid = append(j.Valid, store.JobLine{Line: int64(i + 1), Op: store.OpAdjust,
				SKU: fmt.Sprintf("BULK-%d", (done+i)%1000), Warehouse: "w1", Qty: 1, Reason: "received"})
		}
		if _, err := q.CreateJob(b.Context(), j); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, j.ID)
		done += n
	}
	b.ReportAllocs()
	b.ResetTimer()
	var applied int64
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
	b.StopTimer()
	if applied != int64(b.N) {
		b.Fatalf("applied %d of %d lines", applied, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
