package redisstore_test

import (
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin/redisstore"
	"github.com/shortstock/shortstock/origin/store"
)

// One job_progress call records a step's chunks in order and stops at the
// first whose cursor another worker has moved past: the chunks before it
// count once, it and the ones after it not at all (they are that
// worker's), exactly as one call per chunk, stopping at the first refusal.
func TestJobProgressRecordsChunksUntilTheCursorMoved(t *testing.T) {
	s := openStandalone(t)
	ctx := t.Context()
	if _, err := s.CreateJob(ctx, smallJob("pa", "sq-pa", 3*store.JobChunkLines)); err != nil {
		t.Fatal(err)
	}
	tag, j, err := s.RecordJobChunks(ctx, "pa", []int{0, 1, 2}, []int64{1000, 999, 998})
	if err != nil || tag != "ok" || j.Next != 3 || j.Applied != 2997 {
		t.Fatalf("three chunks from the cursor: %q %+v %v; want ok, next 3, 2997 applied", tag, j, err)
	}

	if _, err := s.CreateJob(ctx, smallJob("pb", "sq-pb", 4*store.JobChunkLines)); err != nil {
		t.Fatal(err)
	}
	if tag, j, err = s.RecordJobChunks(ctx, "pb", []int{0}, []int64{1000}); err != nil || tag != "ok" || j.Next != 1 {
		t.Fatalf("chunk 0: %q %+v %v", tag, j, err)
	}
	// Another worker recorded chunk 0: a step that ran chunks 0 and 1
	// counts neither (chunk 1 is the other worker's to record).
	if tag, j, err = s.RecordJobChunks(ctx, "pb", []int{0, 1}, []int64{1000, 1000}); err != nil || tag != "moved" || j.Next != 1 || j.Applied != 1000 {
		t.Fatalf("chunks 0-1 after 0 was recorded: %q %+v %v; want moved, next 1, 1000 applied", tag, j, err)
	}
	if ok, err := s.JobChunkStored(ctx, "pb", 1); err != nil || !ok {
		t.Fatalf("chunk 1 dropped by a refused record: %v %v", ok, err)
	}
	// Chunks 1 and 2 from the cursor, then one it has not reached.
	if tag, j, err = s.RecordJobChunks(ctx, "pb", []int{1, 2, 5}, []int64{10, 20, 30}); err != nil || tag != "moved" || j.Next != 3 || j.Applied != 1030 {
		t.Fatalf("chunks 1, 2, 5: %q %+v %v; want moved, next 3, 1030 applied", tag, j, err)
	}
	for c, want := range map[int]bool{1: false, 2: false, 3: true} {
		if ok, err := s.JobChunkStored(ctx, "pb", c); err != nil || ok != want {
			t.Fatalf("chunk %d stored = %v (%v), want %v", c, ok, err, want)
		}
	}
}

// A worker that still holds half its lease keeps it as it is: the claim
// of each step then writes nothing (with appendfsync always, no fsync per
// step for it); past half the lease it renews it.
func TestJobClaimRenewsOnlyPastHalfTheLease(t *testing.T) {
	s := openStandalone(t)
	ctx := t.Context()
	// Four steps leave it running.
	if _, err := s.CreateJob(ctx, smallJob("pl", "sq-pl", (4*redisstore.MaxChunksPerStep+1)*store.JobChunkLines)); err != nil {
		t.Fatal(err)
	}
	t0 := time.UnixMilli(1_800_000_000_000)
	step := func(now time.Time, wantUntil time.Time) {
		t.Helper()
		if _, err := s.RunJob(ctx, "pl", "a", now, time.Minute); err != nil {
			t.Fatal(err)
		}
		if lu, err := s.JobLeaseUntil(ctx, "pl"); err != nil || lu != wantUntil.UnixMilli() {
			t.Fatalf("at %v: lease until %d (%v), want %d", now.Sub(t0), lu, err, wantUntil.UnixMilli())
		}
	}
	step(t0, t0.Add(time.Minute))
	step(t0.Add(20*time.Second), t0.Add(time.Minute))
	step(t0.Add(30*time.Second), t0.Add(time.Minute))
	step(t0.Add(31*time.Second), t0.Add(91*time.Second))
	// Another owner past the lease takes it, with a full lease.
	if _, err := s.RunJob(ctx, "pl", "b", t0.Add(92*time.Second), time.Minute); err != nil {
		t.Fatal(err)
	}
	if lu, err := s.JobLeaseUntil(ctx, "pl"); err != nil || lu != t0.Add(152*time.Second).UnixMilli() {
		t.Fatalf("taken over: lease until %d (%v)", lu, err)
	}
}
