package bench

import (
	"context"
	"time"
)

// A ramp step passes when the machine kept up: every arrival sent, at least
// rampMinShare of the offered rate answered as expected, at most
// rampMaxErrShare errors, and a p99 below rampMaxP99. Past saturation an
// open-loop queue grows for as long as the step lasts, so the p99 gives
// way; the bound is loose enough for the pauses a shared two-core machine
// shows at any rate (GC, neighbours: tens of milliseconds).
const (
	rampMinShare    = 0.95
	rampMaxErrShare = 0.01
	rampMaxP99      = 100 * time.Millisecond
	rampPause       = 500 * time.Millisecond // lets queues left by a step drain
)

// RampStep is one rate the ramp tried.
type RampStep struct {
	OfferedRPS  float64 `json:"offered_rps"`
	AchievedRPS float64 `json:"achieved_rps"`
	P99MS       float64 `json:"p99_ms"`
	Unsent      uint64  `json:"unsent"`
	Errors      int64   `json:"errors"`
	Sustained   bool    `json:"sustained"`
}

// rampTries is how many times a rate is tried before the ramp stops at
// it: one pause on a shared machine (a neighbour's burst, a GC cycle)
// should not end the ramp, a rate beyond the machine fails every try.
const rampTries = 2

// ramp tries the profile's ramp rates in order, each for RampStep with the
// full write stream alongside, and returns the highest one sustained (the
// first one if none was: the report then shows it was not).
func (r *runner) ramp(ctx context.Context) (float64, []RampStep, error) {
	var steps []RampStep
	best := 0.0
	for _, rate := range r.p.RampRates {
		ok := false
		for try := 0; try < rampTries && !ok; try++ {
			s, err := r.rampStep(ctx, rate)
			if err != nil {
				return 0, steps, err
			}
			steps = append(steps, s)
			ok = s.Sustained
			select {
			case <-ctx.Done():
				return 0, steps, ctx.Err()
			case <-time.After(rampPause):
			}
		}
		if !ok {
			break
		}
		best = rate
	}
	if best == 0 && len(r.p.RampRates) > 0 {
		best = r.p.RampRates[0]
	}
	return best, steps, nil
}

// rampStep offers rate for one step and judges it.
func (r *runner) rampStep(ctx context.Context, rate float64) (RampStep, error) {
	res, err := r.phase(ctx, "ramp", rate, r.p.WriteRate, r.cfg.RampStep, r.edges, r.readMix)
	if err != nil {
		return RampStep{}, err
	}
	s := RampStep{OfferedRPS: rate, AchievedRPS: achieved(res.reads, res.rTotals), P99MS: res.reads.Latency.P99, Unsent: res.rTotals.Unsent}
	for _, n := range res.reads.Errors {
		s.Errors += n
	}
	s.Sustained = s.Unsent == 0 && s.AchievedRPS >= rampMinShare*rate &&
		float64(s.Errors) <= rampMaxErrShare*float64(res.reads.Count) && s.P99MS <= float64(rampMaxP99)/float64(time.Millisecond)
	r.pr.line("ramp: offered %.0f/s, achieved %.0f/s, p99 %.2f ms, unsent %d, errors %d: %s", rate, s.AchievedRPS, s.P99MS, s.Unsent, s.Errors, map[bool]string{true: "sustained", false: "not sustained"}[s.Sustained])
	return s, nil
}
