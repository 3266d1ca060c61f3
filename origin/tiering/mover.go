package tiering

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

// candidatesPerCall bounds one ColdCandidates call.
const candidatesPerCall = 1000

// Pass runs one mover pass: every partition's links idle since
// now - After, in segments of at most SegmentLinks, each written and
// verified before any of its links is evicted. A pass that cannot reach
// the cold store stops (nothing is evicted that is not verified cold); the
// next pass retries.
func (t *Tiering) Pass(ctx context.Context) store.MoverRun {
	t.mu.Lock()
	t.last = store.MoverRun{Running: true}
	t.mu.Unlock()
	run, err := t.pass(ctx)
	if err != nil {
		run.Error = err.Error()
		t.log.Warn("cold tier mover pass stopped", "err", err, "evicted", run.Evicted)
	}
	t.m.runs.Inc()
	now := time.Now().UTC()
	t.mu.Lock()
	t.last, t.lastRun = run, &now
	t.mu.Unlock()
	return run
}

func (t *Tiering) pass(ctx context.Context) (store.MoverRun, error) {
	var run store.MoverRun
	if !t.tryOpen(ctx) {
		return run, ErrUnavailable
	}
	tr := t.tier.Load()
	now := time.Now()
	before := now.Add(-t.cfg.After)
	var batch []store.ColdCandidate
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		defer func() { batch = batch[:0] }()
		if err := t.hook("candidates"); err != nil {
			return err
		}
		links := make([]store.Link, len(batch))
		for i, c := range batch {
			links[i] = c.Link
		}
		if err := tr.Put(ctx, links); err != nil {
			return t.failed(err)
		}
		if err := t.hook("listed-cold"); err != nil {
			return err
		}
		for i, c := range batch {
			if i == len(batch)/2 {
				if err := t.hook("evicting"); err != nil {
					return err
				}
			}
			switch err := t.cl.EvictLink(ctx, c); {
			case err == nil:
				run.Evicted++
				t.m.evicted.Inc()
			case errors.Is(err, store.ErrVersionMismatch):
				run.Kept++
				t.m.kept.Inc()
			default:
				return fmt.Errorf("evict %s: %w", c.Link.Code, err)
			}
		}
		return nil
	}
	for p := 0; p < t.hot.Partitions().N(); p++ {
		after := ""
		for {
			if err := ctx.Err(); err != nil {
				return run, err
			}
			cs, next, err := t.cl.ColdCandidates(ctx, p, after, before, now, candidatesPerCall)
			if err != nil {
				return run, err
			}
			batch = append(batch, cs...)
			if len(batch) >= t.cfg.SegmentLinks {
				if err := flush(); err != nil {
					return run, err
				}
			}
			if next == "" {
				break
			}
			after = next
		}
	}
	return run, flush()
}
