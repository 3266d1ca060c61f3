package bench

import (
	"context"
	"runtime"
	"time"
)

// pacer waits for an arrival's intended time. Go timers wake up late (up to
// about a millisecond on an idle machine, measured here), and since latency
// is charged from the intended time, that slack would be the generator's
// error in every measurement. So a pacer sleeps until spin before the
// intended time and yields in a loop for the rest. The spin window shrinks
// with the rate so that spinning costs at most spinBudget of one core:
// at high rates workers are rarely early, and a busy machine runs timers
// closer to time anyway.
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

// wait returns at or just after at, or ctx's error if it ends first.
func (p *pacer) wait(ctx context.Context, at time.Time) error {
	d := time.Until(at)
	if d <= 0 {
		return nil
	}
	if d > p.spin {
		p.timer.Reset(d - p.spin)
		select {
		case <-ctx.Done():
			p.timer.Stop()
			return ctx.Err()
		case <-p.timer.C:
		}
	}
	for time.Now().Before(at) {
		runtime.Gosched()
	}
	return nil
}

func (p *pacer) stop() { p.timer.Stop() }
