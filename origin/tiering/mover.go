package tiering

import (
	"context"
	"fmt"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

// candidatesPerCall bounds one ColdCandidates call.
const candidatesPerCall = 1000

// orphanAge: an unlisted segment older than this is an orphan (a Put,
// even a slow one of another origin, takes far less).
const orphanAge = time.Hour

// evictChunk is how many links one EvictLinks call moves.
const evictChunk = 500

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
	// Segments a crash left unlisted (never read) go once surely stale.
	if n, err := tr.DeleteOrphans(ctx, orphanAge); err != nil {
		return run, t.failed(err)
	} else if n > 0 {
		t.log.Info("cold tier: orphan segments deleted", "count", n)
	}
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
		size := evictChunk
		if len(batch) < 2*size {
			size = max(1, len(batch)/2) // at least two steps: the crash test stops between
		}
		for i := 0; i < len(batch); i += size {
			if i == size {
				if err := t.hook("evicting"); err != nil {
					return err
				}
			}
			chunk := batch[i:min(i+size, len(batch))]
			ok, err := t.cl.EvictLinks(ctx, chunk)
			for _, moved := range ok {
				if moved {
					run.Evicted++
					t.m.evicted.Inc()
				} else {
					run.Kept++
					t.m.kept.Inc()
				}
			}
			if err != nil {
				return fmt.Errorf("evict: %w", err)
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
