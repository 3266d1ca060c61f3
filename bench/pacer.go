package bench

import (
	"context"
	"runtime"
	"time"
)

// pacer waits for an arrival's intended time. Go timers wake up late (up to
// a millisecond or two, measured here), so a pacer sleeps until spin before
// the intended time and yields in a loop for the rest. The spin window
// shrinks with the rate so that spinning costs at most spinBudget of one
// core; what slack is left is not charged to the request (see maxSlack).
type pacer struct {
	spin  time.Duration
	timer *time.Timer
}

const (
	maxSpin    = 1500 * time.Microsecond
	spinBudget = 0.15 // of one core, at most
)

func newPacer(rate float64) *pacer {
	spin := maxSpin
	if rate > 0 {
		spin = min(maxSpin, time.Duration(spinBudget/rate*float64(time.Second)))
	}
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &pacer{spin: spin, timer: t}
}

// maxSlack is how late a worker that slept may wake without the lateness
// being charged to its request. A worker that was early waited for
// nothing the server did, so its timer's slack is the generator's own
// error; a worker that was late (still busy with earlier requests: the
// queue coordinated omission would hide) never sleeps and is charged in
// full, and so is any wake-up lateness beyond maxSlack.
const maxSlack = 2 * time.Millisecond

// wait returns at or just after at, or ctx's error if it ends first.
// early says whether the worker had to wait, being ahead of schedule.
func (p *pacer) wait(ctx context.Context, at time.Time) (early bool, err error) {
	d := time.Until(at)
	if d <= 0 {
		return false, nil
	}
	if d > p.spin {
		p.timer.Reset(d - p.spin)
		select {
		case <-ctx.Done():
			p.timer.Stop()
			return true, ctx.Err()
		case <-p.timer.C:
		}
	}
	for time.Now().Before(at) {
		runtime.Gosched()
	}
	return true, nil
}

// chargeFrom is when a request's latency starts: its intended time, or for
// a worker that slept, up to maxSlack later: when it woke.
func chargeFrom(due, woke time.Time, early bool) time.Time {
	if !early {
		return due
	}
	return due.Add(max(0, min(woke.Sub(due), maxSlack)))
}

func (p *pacer) stop() { p.timer.Stop() }
