package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

// Bulk job conformance: a store's JobQueue applies every valid line once,
// counts each line once, keeps its jobs across calls, and leases them.

func jobsOf(t *testing.T, s store.Store) store.JobQueue {
	t.Helper()
	q, ok := s.(store.JobQueue)
	if !ok {
		t.Fatalf("%T does not implement store.JobQueue", s)
	}
	return q
}

// bulkJob builds a job of n lines over skus SKUs: line 1 of each SKU sets
// it to 1000 in w1; then adjusts of +1 and transfers of 1 to w2. Every
// 97th line is a parse failure (as the origin reports them), and every SKU
// gets one adjust of -10^6 (insufficient stock: a store-side failure).
func bulkJob(id string, n, skus int) store.NewJob {
	j := store.NewJob{ID: id, Actor: "k1", Lines: int64(n), CreatedAt: t0}
	for line := int64(1); line <= int64(n); line++ {
		sku := fmt.Sprintf("bulk-%d", (line-1)%int64(skus))
		l := store.JobLine{Line: line, SKU: sku, Warehouse: "w1", Reason: "received", Ref: "feed"}
		switch {
		case line%97 == 0:
			j.Failed++
			if len(j.Errors) < store.MaxJobErrors {
				j.Errors = append(j.Errors, store.JobError{Line: line, Error: "invalid_json", Message: "x"})
			}
			continue
		case line <= int64(skus):
			l.Op, l.Qty = store.OpSet, 1000
		case line <= int64(2*skus):
			l.Op, l.Qty, l.Reason = store.OpAdjust, -1_000_000, "sold"
		case line%3 == 0:
			l.Op, l.To, l.Qty, l.Reason = store.OpTransfer, "w2", 1, "transfer"
		default:
			l.Op, l.Qty = store.OpAdjust, 1
		}
		j.Valid = append(j.Valid, l)
	}
	return j
}

// bulkExpect is what a bulkJob leaves: per SKU, on hand in w1 and w2, and
// how many lines applied.
func bulkExpect(j store.NewJob) (map[string]wh, map[string]wh, int64) {
	w1, w2 := map[string]wh{}, map[string]wh{}
	var applied int64
	for _, l := range j.Valid {
		a, b := w1[l.SKU], w2[l.SKU]
		switch {
		case l.Op == store.OpSet:
			a.onHand = l.Qty
		case l.Op == store.OpAdjust && l.Qty < 0:
			continue // insufficient
		case l.Op == store.OpAdjust:
			a.onHand += l.Qty
		default:
			a.onHand -= l.Qty
			b.onHand += l.Qty
		}
		w1[l.SKU], w2[l.SKU] = a, b
		applied++
	}
	return w1, w2, applied
}

func runToEnd(t *testing.T, q store.JobQueue, id string) store.Job {
	t.Helper()
	for i := 0; ; i++ {
		j, err := q.RunJob(t.Context(), id, "worker-a", t0, time.Minute)
		if errors.Is(err, store.ErrUnavailable) && i < 50 {
			continue // e.g. replicas slow to acknowledge on a loaded machine: a re-run is safe
		}
		if err != nil {
			t.Fatalf("RunJob %s (step %d): %v", id, i, err)
		}
		if j.Ended() {
			return j
		}
		if i > j.Chunks+50 {
			t.Fatalf("job %s not ended after %d steps: %+v", id, i, j)
		}
	}
}

// checkBulkResult checks a finished bulkJob: counts, errors, every SKU's
// view, and one movement per applied line carrying the line's identity.
func checkBulkResult(t *testing.T, s store.Store, nj store.NewJob, got store.Job, skus int) {
	t.Helper()
	w1, w2, applied := bulkExpect(nj)
	failed := nj.Lines - applied
	if got.Status != store.JobDone || got.Lines != nj.Lines || got.Applied != applied || got.Failed != failed {
		t.Fatalf("job = %s lines %d applied %d failed %d; want done %d %d %d", got.Status, got.Lines, got.Applied, got.Failed, nj.Lines, applied, failed)
	}
	if len(got.Errors) != min(int(failed), store.MaxJobErrors) {
		t.Fatalf("job has %d errors listed, want %d", len(got.Errors), min(int(failed), store.MaxJobErrors))
	}
	for i, e := range got.Errors {
		if i > 0 && e.Line <= got.Errors[i-1].Line {
			t.Fatalf("errors out of line order: %v", got.Errors)
		}
		if e.Line%97 != 0 && e.Error != "insufficient_stock" {
			t.Fatalf("line %d failed with %q, want insufficient_stock", e.Line, e.Error)
		}
	}
	seen := map[string]bool{}
	var moves int64
	for i := 0; i < skus; i++ {
		sku := fmt.Sprintf("bulk-%d", i)
		v := mustGetStock(t, s, sku)
		if v.Warehouses["w1"].OnHand != w1[sku].onHand || v.Warehouses["w2"].OnHand != w2[sku].onHand {
			t.Fatalf("%s = %+v; want w1 %d w2 %d", sku, v.Warehouses, w1[sku].onHand, w2[sku].onHand)
		}
		var all []store.Movement
		for after := uint64(0); ; {
			pg, err := s.Movements(t.Context(), store.MovementQuery{SKU: sku, After: after, Limit: store.MaxMovementsLimit})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, pg.Movements...)
			if pg.Next == 0 {
				break
			}
			after = pg.Next
		}
		if r, err := store.Replay(sku, all); err != nil || !store.SameView(r, v) {
			t.Fatalf("%s: ledger replays to %+v (%v), stored %+v", sku, r, err, v)
		}
		for _, m := range all {
			if m.Kind == store.KindTransferIn {
				continue // a transfer's two movements share the line
			}
			if seen[m.IdempotencyKey] {
				t.Fatalf("line %s applied twice", m.IdempotencyKey)
			}
			seen[m.IdempotencyKey] = true
			moves++
			if m.Actor != "k1" || m.Ref != "feed" {
				t.Fatalf("movement %+v: want actor k1, ref feed", m)
			}
		}
	}
	if moves != applied {
		t.Fatalf("%d lines have movements, %d applied", moves, applied)
	}
	if ids, err := jobsOf(t, s).PendingJobs(t.Context()); err != nil || len(ids) != 0 {
		t.Fatalf("PendingJobs after the end = %v, %v", ids, err)
	}
}

func testJobRunsEveryLine(t *testing.T, s store.Store) {
	q := jobsOf(t, s)
	// More chunks than one step of any store takes (Redis: 16).
	nj := bulkJob("job1", 20*store.JobChunkLines+500, 7)
	j, err := q.CreateJob(t.Context(), nj)
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != store.JobQueued || j.Chunks != 21 || j.Failed != nj.Failed {
		t.Fatalf("created %+v", j)
	}
	if ids, err := q.PendingJobs(t.Context()); err != nil || len(ids) != 1 || ids[0] != "job1" {
		t.Fatalf("PendingJobs = %v, %v", ids, err)
	}
	if got, err := q.GetJob(t.Context(), "job1"); err != nil || got.Status != store.JobQueued || got.Lines != nj.Lines {
		t.Fatalf("GetJob = %+v, %v", got, err)
	}
	got, err := q.RunJob(t.Context(), "job1", "worker-a", t0, time.Minute)
	if err != nil || got.Status != store.JobRunning || got.Next < 1 || got.Next >= got.Chunks {
		t.Fatalf("first step = %+v, %v", got, err)
	}
	got = runToEnd(t, q, "job1")
	checkBulkResult(t, s, nj, got, 7)
	again, err := q.RunJob(t.Context(), "job1", "worker-b", t0, time.Minute)
	if err != nil || again.Applied != got.Applied || again.Status != store.JobDone {
		t.Fatalf("RunJob of an ended job = %+v, %v; want it unchanged", again, err)
	}
}

// testJobConcurrentWorkers runs one job from four workers at once, each
// call with a "now" past every lease, so they run the same chunks
// together: every line must still apply once and count once.
func testJobConcurrentWorkers(t *testing.T, s store.Store) {
	q := jobsOf(t, s)
	nj := bulkJob("job2", 3*store.JobChunkLines, 5)
	if _, err := q.CreateJob(t.Context(), nj); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var last store.Job
	var step int64
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				mu.Lock()
				step++
				now := t0.Add(time.Duration(step) * time.Hour)
				mu.Unlock()
				j, err := q.RunJob(t.Context(), "job2", fmt.Sprintf("w%d", w), now, time.Minute)
				if errors.Is(err, store.ErrJobLeased) || errors.Is(err, store.ErrUnavailable) {
					continue // a worker with a later "now" got there first, or replicas were slow: re-run
				}
				if err != nil {
					t.Errorf("RunJob: %v", err)
					return
				}
				if j.Ended() {
					mu.Lock()
					last = j
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	got, err := q.GetJob(t.Context(), "job2")
	if err != nil || !last.Ended() {
		t.Fatalf("GetJob = %+v, %v; last seen %+v", got, err, last)
	}
	checkBulkResult(t, s, nj, got, 5)
}

func testJobLease(t *testing.T, s store.Store) {
	q := jobsOf(t, s)
	if _, err := q.CreateJob(t.Context(), bulkJob("job3", 20*store.JobChunkLines, 3)); err != nil {
		t.Fatal(err)
	}
	first, err := q.RunJob(t.Context(), "job3", "a", t0, time.Minute)
	if err != nil || first.Ended() {
		t.Fatalf("first step = %+v, %v", first, err)
	}
	j, err := q.RunJob(t.Context(), "job3", "b", t0.Add(30*time.Second), time.Minute)
	wantErr(t, "RunJob while another worker holds the lease", err, store.ErrJobLeased)
	if j.Next != first.Next {
		t.Fatalf("a refused RunJob moved the job: %+v", j)
	}
	if j, err = q.RunJob(t.Context(), "job3", "b", t0.Add(2*time.Minute), time.Minute); err != nil || j.Next <= first.Next {
		t.Fatalf("RunJob after the lease expired = %+v, %v", j, err)
	}
}

func testJobBadInput(t *testing.T, s store.Store) {
	q := jobsOf(t, s)
	_, err := q.GetJob(t.Context(), "nosuchjob")
	wantErr(t, "GetJob of an unknown job", err, store.ErrNotFound)
	_, err = q.RunJob(t.Context(), "nosuchjob", "a", t0, time.Minute)
	wantErr(t, "RunJob of an unknown job", err, store.ErrNotFound)
	for _, bad := range []store.NewJob{
		{ID: "Bad-ID", Lines: 0, CreatedAt: t0},
		{ID: "j", Lines: 2, Valid: []store.JobLine{{Line: 1, Op: store.OpSet, SKU: "a", Warehouse: "w", Qty: 1}}, CreatedAt: t0},
	} {
		_, err := q.CreateJob(t.Context(), bad)
		wantErr(t, fmt.Sprintf("CreateJob(%+v)", bad), err, store.ErrInvalid)
	}
	if ids, err := q.PendingJobs(t.Context()); err != nil || len(ids) != 0 {
		t.Fatalf("refused jobs queued: %v, %v", ids, err)
	}
	// A job with no valid line ends at once, failed, and is not queued.
	j, err := q.CreateJob(t.Context(), store.NewJob{ID: "allbad", Lines: 2, Failed: 2, CreatedAt: t0,
		Errors: []store.JobError{{Line: 1, Error: "invalid_json"}, {Line: 2, Error: "invalid_json"}}})
	if err != nil || j.Status != store.JobFailed {
		t.Fatalf("all-invalid job = %+v, %v", j, err)
	}
	if got, err := q.GetJob(t.Context(), "allbad"); err != nil || got.Status != store.JobFailed || len(got.Errors) != 2 || got.Failed != 2 {
		t.Fatalf("GetJob(allbad) = %+v, %v", got, err)
	}
	if _, err := q.CreateJob(t.Context(), store.NewJob{ID: "allbad", CreatedAt: t0}); err == nil {
		t.Fatal("CreateJob with an existing ID succeeded")
	}
	if ids, err := q.PendingJobs(t.Context()); err != nil || len(ids) != 0 {
		t.Fatalf("ended job queued: %v, %v", ids, err)
	}
}
