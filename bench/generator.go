package bench

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Schedule is an open-loop arrival process: arrival n is due at
// Start + n/Rate, for every n due before Start + Duration.
type Schedule struct {
	// Rate is arrivals per second.
	Rate float64
	// Duration is how long arrivals keep coming.
	Duration time.Duration
	// Start is when arrival 0 is due. Zero: shortly after Generate is
	// called (so the workers are running when the first one is due).
	Start time.Time
	// Timeout bounds one operation from when it is sent. Default 2s.
	Timeout time.Duration
	// Grace is how long after Duration arrivals already due may still be
	// sent; later they are counted as unsent. Default 1s.
	Grace time.Duration
	// Batch, when set, releases arrivals in batches: an arrival is sent at
	// the first multiple of Batch after Start at or after it is due, with
	// the others of that step, so pipelined requests share a write. At
	// most maxSlack; its delay is timer slack, not charged to the request
	// (see chargeFrom). Zero: each arrival leaves when due.
	Batch time.Duration
}

// Op performs one arrival and says how it went. Every worker owns one Op,
// so an Op keeps its buffers and random source without locking.
type Op interface {
	Do(ctx context.Context, deadline time.Time) Outcome
}

// Totals says how a schedule went.
type Totals struct {
	Scheduled uint64 // arrivals due during the run
	Sent      uint64 // arrivals sent
	Unsent    uint64 // due but never sent: how far the workers fell behind
	Start     time.Time
	// Elapsed runs from Start to the last answer, and is at least
	// Duration: the denominator of the achieved rate.
	Elapsed time.Duration
}

// Generate runs s with one worker per op, each with at most one operation
// in flight, and records every operation into rec, its latency counted
// from when it was due (less the timer slack of a worker that was early:
// see maxSlack). It returns when every worker has stopped: after
// the last arrival, after the grace period, or when ctx ends (with ctx's
// error).
func Generate(ctx context.Context, s Schedule, ops []Op, rec *Recorder) (Totals, error) {
	if s.Rate <= 0 || s.Duration <= 0 || len(ops) == 0 {
		return Totals{}, fmt.Errorf("%w: schedule needs a rate, a duration and workers (got %v/s, %v, %d)", ErrConfig, s.Rate, s.Duration, len(ops))
	}
	if s.Timeout <= 0 {
		s.Timeout = 2 * time.Second
	}
	if s.Grace <= 0 {
		s.Grace = time.Second
	}
	if s.Start.IsZero() {
		s.Start = time.Now().Add(10 * time.Millisecond)
	}
	if s.Batch < 0 || s.Batch > maxSlack {
		return Totals{}, fmt.Errorf("%w: batch %v must be between 0 and %v", ErrConfig, s.Batch, maxSlack)
	}
	g := &generator{
		s:        s,
		rec:      rec,
		interval: float64(time.Second) / s.Rate,
		total:    uint64(math.Ceil(s.Duration.Seconds()*s.Rate - 1e-9)),
		cutoff:   s.Start.Add(s.Duration + s.Grace),
	}
	var wg sync.WaitGroup
	for _, op := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.work(ctx, op)
		}()
	}
	wg.Wait()
	t := Totals{Scheduled: g.total, Sent: g.sent.Load(), Start: s.Start, Elapsed: s.Duration}
	t.Unsent = t.Scheduled - t.Sent
	if last := time.Unix(0, g.lastDone.Load()); last.Sub(s.Start) > t.Elapsed {
		t.Elapsed = last.Sub(s.Start)
	}
	return t, ctx.Err()
}

type generator struct {
	s        Schedule
	rec      *Recorder
	interval float64 // nanoseconds between arrivals
	total    uint64
	cutoff   time.Time
	next     atomic.Uint64 // the next arrival to take
	sent     atomic.Uint64
	lastDone atomic.Int64 // unix nanos of the latest answer
}

// work takes arrivals in order until none are left. Taking them from one
// counter keeps the schedule independent of how fast answers come back:
// a worker that is behind sends at once, and the wait it caused is charged
// to the arrival's latency.
func (g *generator) work(ctx context.Context, op Op) {
	p := newPacer(g.s.Rate)
	if g.s.Batch > 0 {
		p.spin = 0 // a batch's workers wake together; none spins for it
	}
	defer p.stop()
	var last time.Time
	defer func() {
		for {
			cur := g.lastDone.Load()
			if last.UnixNano() <= cur || g.lastDone.CompareAndSwap(cur, last.UnixNano()) {
				return
			}
		}
	}()
	for {
		n := g.next.Add(1) - 1
		if n >= g.total {
			return
		}
		offset := time.Duration(float64(n) * g.interval)
		due := g.s.Start.Add(offset)
		wake := due
		if b := g.s.Batch; b > 0 {
			wake = g.s.Start.Add((offset + b - 1) / b * b)
		}
		early, err := p.wait(ctx, wake)
		if err != nil {
			return
		}
		now := time.Now()
		if now.After(g.cutoff) {
			return // this arrival and every later one stay unsent
		}
		g.sent.Add(1)
		out := op.Do(ctx, now.Add(g.s.Timeout))
		last = time.Now()
		g.rec.Record(chargeFrom(due, now, early), last, out)
	}
}
