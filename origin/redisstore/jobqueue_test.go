package redisstore_test

import (
	"slices"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin/redisstore"
	"github.com/shortstock/shortstock/origin/store"
)

// smallJob is a job of one chunk: n adjusts of +1 to SKU sku.
func smallJob(id, sku string, n int) store.NewJob {
	j := store.NewJob{ID: id, Actor: "k1", Lines: int64(n), CreatedAt: time.Now()}
	for line := int64(1); line <= int64(n); line++ {
		j.Valid = append(j.Valid, store.JobLine{Line: line, Op: store.OpAdjust, SKU: sku, Warehouse: "w1", Qty: 1, Reason: "received"})
	}
	return j
}

func createJobs(t *testing.T, s *redisstore.Store, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if _, err := s.CreateJob(t.Context(), smallJob(id, "sq-"+id, 3)); err != nil {
			t.Fatal(err)
		}
	}
}

func nextJobs(t *testing.T, s *redisstore.Store, owner string, stale time.Duration) []string {
	t.Helper()
	ids, err := s.NextJobs(t.Context(), owner, stale)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// The stream hands each queued job to one worker, which sees it again at
// every look until the job ends; another live worker never gets it.
func TestJobStreamHandsEachJobToOneWorker(t *testing.T) {
	backends(t, func(t *testing.T, open func(testing.TB) *redisstore.Store) {
		s := open(t)
		createJobs(t, s, "qa", "qb", "qc")
		if got := nextJobs(t, s, "origin-a", time.Minute); !slices.Equal(got, []string{"qa", "qb", "qc"}) {
			t.Fatalf("worker a got %v, want the three jobs in order", got)
		}
		if got := nextJobs(t, s, "origin-b", time.Minute); len(got) != 0 {
			t.Fatalf("worker b got %v, handed to a already", got)
		}
		if got := nextJobs(t, s, "origin-a", time.Minute); !slices.Equal(got, []string{"qa", "qb", "qc"}) {
			t.Fatalf("worker a's next look: %v, want its three jobs again", got)
		}
		if ids, err := s.PendingJobs(t.Context()); err != nil || !slices.Equal(ids, []string{"qa", "qb", "qc"}) {
			t.Fatalf("PendingJobs = %v, %v", ids, err)
		}
	})
}

// A worker that took a job and died leaves it pending; once it has been
// idle for the stale bound another worker takes it over, runs it to its
// end, and the stream is empty after.
func TestJobStreamTakesOverADeadWorkersJob(t *testing.T) {
	backends(t, func(t *testing.T, open func(testing.TB) *redisstore.Store) {
		s := open(t)
		createJobs(t, s, "qd")
		if got := nextJobs(t, s, "dead", time.Minute); !slices.Equal(got, []string{"qd"}) {
			t.Fatalf("first worker got %v", got)
		}
		const stale = 300 * time.Millisecond
		deadline := time.Now().Add(10 * time.Second)
		var got []string
		for len(got) == 0 && time.Now().Before(deadline) {
			got = nextJobs(t, s, "live", stale)
			if len(got) == 0 {
				if _, idle, _, err := s.JobEntryIdle(t.Context(), "qd"); err != nil {
					t.Fatal(err)
				} else if idle > stale+time.Second {
					t.Fatalf("idle %v, past the stale bound %v, and still not taken over", idle, stale)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		if !slices.Equal(got, []string{"qd"}) {
			t.Fatalf("the live worker got %v, want qd", got)
		}
		if c, _, ok, err := s.JobEntryIdle(t.Context(), "qd"); err != nil || !ok || c != "live" {
			t.Fatalf("entry pending on %q (%v, %v), want live", c, ok, err)
		}
		for i := 0; ; i++ {
			j, err := s.RunJob(t.Context(), "qd", "live", time.Now(), time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if j.Ended() {
				if j.Applied != 3 {
					t.Fatalf("job ended with %d of 3 lines applied", j.Applied)
				}
				break
			}
			if i > 10 {
				t.Fatalf("job not ended after %d steps: %+v", i, j)
			}
		}
		if n, p, err := s.JobStreamLen(t.Context()); err != nil || n != 0 || p != 0 {
			t.Fatalf("after the end: %d entries, %d pending (%v), want none", n, p, err)
		}
		if got := nextJobs(t, s, "dead", time.Minute); len(got) != 0 {
			t.Fatalf("the dead worker's next look: %v", got)
		}
	})
}

// Each step of a running job resets its entry's idle time, so that a
// live worker's long job is not taken over.
func TestJobStreamStepKeepsTheJob(t *testing.T) {
	s := openStandalone(t)
	// More chunks than a step takes.
	if _, err := s.CreateJob(t.Context(), smallJob("qe", "sq-qe", (redisstore.MaxChunksPerStep+1)*store.JobChunkLines)); err != nil {
		t.Fatal(err)
	}
	if got := nextJobs(t, s, "runner", time.Minute); !slices.Equal(got, []string{"qe"}) {
		t.Fatalf("got %v", got)
	}
	const wait = 200 * time.Millisecond
	var before time.Duration
	for deadline := time.Now().Add(10 * time.Second); before < wait; {
		_, idle, ok, err := s.JobEntryIdle(t.Context(), "qe")
		if err != nil || !ok {
			t.Fatalf("not pending: %v", err)
		}
		if before = idle; time.Now().After(deadline) {
			t.Fatalf("idle %v after 10 s", idle)
		}
		if before < wait {
			time.Sleep(10 * time.Millisecond)
		}
	}
	j, err := s.RunJob(t.Context(), "qe", "runner", time.Now(), time.Minute)
	if err != nil || j.Ended() {
		t.Fatalf("one step: %+v, %v; want the job running", j, err)
	}
	_, after, ok, err := s.JobEntryIdle(t.Context(), "qe")
	if err != nil || !ok || after >= before {
		t.Fatalf("idle %v after a step (was %v; %v, %v): the step did not keep the job", after, before, ok, err)
	}
}

// Jobs queued by an earlier version (a ZSET) move into the stream.
func TestJobStreamTakesTheOldQueue(t *testing.T) {
	s := openStandalone(t)
	createJobs(t, s, "qf")
	if err := s.MoveJobToLegacyQueue(t.Context(), "qf"); err != nil {
		t.Fatal(err)
	}
	if n, _, err := s.JobStreamLen(t.Context()); err != nil || n != 0 {
		t.Fatalf("stream holds %d entries (%v) before the drain", n, err)
	}
	if got := nextJobs(t, s, "upgraded", time.Minute); !slices.Equal(got, []string{"qf"}) {
		t.Fatalf("got %v, want the old queue's job", got)
	}
	if n, p, err := s.JobStreamLen(t.Context()); err != nil || n != 1 || p != 1 {
		t.Fatalf("stream: %d entries, %d pending (%v), want 1 and 1", n, p, err)
	}
}

// A step refreshes its job's entry at most once a quarter lease: often
// enough that no other worker takes a live worker's job over (after one
// lease idle), and not a write (an fsync with appendfsync always) per step.
func TestJobStreamTouchesOncePerQuarterLease(t *testing.T) {
	s := openStandalone(t)
	// Three steps leave it running.
	if _, err := s.CreateJob(t.Context(), smallJob("qt", "sq-qt", (3*redisstore.MaxChunksPerStep+1)*store.JobChunkLines)); err != nil {
		t.Fatal(err)
	}
	if got := nextJobs(t, s, "runner", time.Minute); !slices.Equal(got, []string{"qt"}) {
		t.Fatalf("got %v", got)
	}
	t0 := time.Now()
	idleAfter := func(now time.Time) time.Duration {
		t.Helper()
		if j, err := s.RunJob(t.Context(), "qt", "runner", now, time.Minute); err != nil || j.Ended() {
			t.Fatalf("step at %v: %+v, %v; want the job running", now.Sub(t0), j, err)
		}
		_, idle, ok, err := s.JobEntryIdle(t.Context(), "qt")
		if err != nil || !ok {
			t.Fatalf("not pending: %v", err)
		}
		return idle
	}
	idleAfter(t0) // the first step refreshes it
	waitIdle := func(d time.Duration) time.Duration {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			_, idle, _, err := s.JobEntryIdle(t.Context(), "qt")
			if err != nil || idle >= d {
				return idle
			}
			if time.Now().After(deadline) {
				t.Fatalf("idle %v after 10 s", idle)
			}
		}
	}
	before := waitIdle(100 * time.Millisecond)
	if after := idleAfter(t0.Add(14 * time.Second)); after < before {
		t.Fatalf("a step within a quarter lease of the last refresh refreshed the entry (idle %v, was %v)", after, before)
	}
	before = waitIdle(200 * time.Millisecond)
	if after := idleAfter(t0.Add(16 * time.Second)); after >= before {
		t.Fatalf("a step a quarter lease after the last refresh left the entry idle %v (was %v)", after, before)
	}
}

// A step read ahead (while the step before it ran) is used only by the
// next step of the same job at the same chunk. Here another origin (a
// second store on the same keyspace) runs that step meanwhile: the first
// store's next step starts further on and must read it afresh. Used as
// it was read, it would record the moved-on chunk with the earlier one's
// lines (replays) and drop its lines unapplied: every line must apply once.
func TestJobStepReadAheadOnlyAtItsChunk(t *testing.T) {
	prefix := uniquePrefix()
	addr := []string{env.Standalone(t)}
	same := func(c *redisstore.Config) { c.KeyPrefix = prefix }
	a, b := openOn(t, addr, same), openOn(t, addr, same)
	ctx := t.Context()
	const steps = 3
	lines := (steps*redisstore.MaxChunksPerStep + 1) * store.JobChunkLines
	if _, err := a.CreateJob(ctx, smallJob("ra", "sq-ra", lines)); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	run := func(s *redisstore.Store, owner string, at time.Duration) store.Job {
		t.Helper()
		j, err := s.RunJob(ctx, "ra", owner, t0.Add(at), time.Minute)
		if err != nil {
			t.Fatalf("%s at %v: %v", owner, at, err)
		}
		return j
	}
	if j := run(a, "a", 0); j.Next != redisstore.MaxChunksPerStep {
		t.Fatalf("a's first step: %+v", j)
	}
	// a read step 2 ahead; b (a's lease expired) runs it, then a runs on.
	if j := run(b, "b", 2*time.Minute); j.Next != 2*redisstore.MaxChunksPerStep {
		t.Fatalf("b's step: %+v", j)
	}
	j := run(a, "a", 4*time.Minute)
	for i := 0; !j.Ended(); i++ {
		if i > 10 {
			t.Fatalf("not ended: %+v", j)
		}
		j = run(a, "a", time.Duration(5+i)*time.Minute)
	}
	v, err := a.GetStockPrimary(ctx, "sq-ra")
	if err != nil {
		t.Fatal(err)
	}
	if j.Applied != int64(lines) || j.Failed != 0 || v.Warehouses["w1"].OnHand != int64(lines) {
		t.Fatalf("job %+v, on hand %d: want %d lines applied once each", j, v.Warehouses["w1"].OnHand, lines)
	}
}
