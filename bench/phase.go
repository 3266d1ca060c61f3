package bench

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// runner holds what the phases of one run share.
type runner struct {
	cfg      Config
	p        Profile
	keys     *keySet
	edges    []*host
	origins  []*host
	readMix  *readMix
	writeMix *writeMix // nil without writes
	pr       *progress
	phases   uint64 // phases run so far: each draws from its own seed
}

// phaseResult is one phase's two streams.
type phaseResult struct {
	reads, writes   Summary
	rTotals, wTotal Totals
}

// achieved is answers as expected per second of the stream's run.
func achieved(s Summary, t Totals) float64 {
	if t.Elapsed <= 0 {
		return 0
	}
	return float64(s.OK+s.Rejected) / t.Elapsed.Seconds()
}

// phase offers readRate reads to edges (with mix) and writeRate writes
// to the origins for d, both on one schedule start, and shows progress
// under label while it runs.
func (r *runner) phase(ctx context.Context, label string, readRate, writeRate float64, d time.Duration, edges []*host, mix *readMix) (phaseResult, error) {
	r.phases++
	seed := r.cfg.Seed + r.phases*0x9e3779b97f4a7c15
	start := time.Now().Add(20 * time.Millisecond)
	span := d + 2*r.cfg.Timeout + 2*time.Second
	rrec, wrec := NewRecorder(start, span), NewRecorder(start, span)
	sched := func(rate float64) Schedule {
		return Schedule{Rate: rate, Duration: d, Start: start, Timeout: r.cfg.Timeout}
	}
	var res phaseResult
	var werr error
	var wg sync.WaitGroup
	if writeRate > 0 && r.writeMix != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res.wTotal, werr = Generate(ctx, sched(writeRate), newWriteOps(r.writeMix, r.origins, r.p.WriteWorkers, seed), wrec)
		}()
	}
	stop := r.showProgress(label, start, d, readRate, rrec, writeRate, wrec)
	var rerr error
	rs := sched(readRate)
	if r.p.Pipeline > 1 {
		rs.Batch = pipelineBatch
	}
	res.rTotals, rerr = Generate(ctx, rs, newReadOps(mix, edges, r.p.ReadWorkers, seed), rrec)
	wg.Wait()
	stop()
	res.reads, res.writes = rrec.Summary(), wrec.Summary()
	if err := firstErr(rerr, werr); err != nil {
		return res, err
	}
	return res, nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// showProgress keeps a status line for a running phase until the returned
// stop is called; stop waits for its goroutine.
func (r *runner) showProgress(label string, start time.Time, d time.Duration, readRate float64, reads *Recorder, writeRate float64, writes *Recorder) (stop func()) {
	if r.pr == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var lastR, lastW int64
		lastAt := time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				el := max(0, now.Sub(start))
				secs := now.Sub(lastAt).Seconds()
				nr, nw := reads.liveDone.Load(), writes.liveDone.Load()
				line := fmt.Sprintf("%-8s %3.0fs/%.0fs  reads %7.0f/s of %.0f/s  p99 %7.2f ms  errors %d",
					label, min(el, d).Seconds(), d.Seconds(), float64(nr-lastR)/secs, readRate, reads.recentP99(now), reads.liveErrs.Load())
				if writeRate > 0 {
					line += fmt.Sprintf("  |  writes %5.0f/s of %.0f/s  errors %d", float64(nw-lastW)/secs, writeRate, writes.liveErrs.Load())
				}
				r.pr.status("%s", line)
				lastR, lastW, lastAt = nr, nw, now
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		r.pr.done()
	}
}
