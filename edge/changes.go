package edge

import (
	"context"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/shortstock/shortstock/edge/cache"
	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/wire"
)

// changePageSize is how many changes one catch-up read asks for.
const changePageSize = 1000

// maxPagesPerReplay bounds one catch-up pass over a partition, so a huge
// backlog of one partition cannot starve the others; the rest is read on
// the next pass.
const maxPagesPerReplay = 20

// HandleChange applies one change: the key's cached entry is dropped if it
// is older than c.Version, and older fills are refused from then on. It is
// idempotent, so duplicates and replays are harmless. It also tracks the
// partition's change sequence; a hole makes the Server's own goroutine read
// the missed changes from the origin's change log. It never blocks on the
// network: gossip may call it on its delivery goroutine.
func (s *Server) HandleChange(c change.Change) {
	if err := c.ValidateIn(s.space); err != nil {
		s.m.changesBad.Inc()
		return
	}
	s.apply(c)
	if s.marks.see(c.Partition, c.Seq, s.cfg.Clock.Now().UnixNano(), int64(s.cfg.GapGrace)) {
		s.wake()
	}
}

// ObserveHeads takes an origin's change-log heads (one per partition), as
// gossip's anti-entropy delivers them: any partition whose head is past
// what this edge applied is caught up from the change log. Before the
// edge's first contact with the origin it sets the starting point instead.
// It never blocks.
func (s *Server) ObserveHeads(heads []uint64) {
	if len(heads) != s.cfg.Partitions {
		s.m.changesBad.Inc()
		s.log.Warn("edge: heads of another partition count ignored", "heads", len(heads), "partitions", s.cfg.Partitions)
		return
	}
	initialized, kick := s.marks.observe(heads, s.cfg.Clock.Now().UnixNano(), int64(s.cfg.GapGrace))
	if initialized {
		s.firstContactMade()
	}
	if kick {
		s.wake()
	}
}

// apply invalidates the key of a valid change and measures how long after
// the write it got here.
func (s *Server) apply(c change.Change) {
	k, id, _ := keys.Split(c.Key)
	switch {
	case c.Purge == 0:
		if c.Value != "" && !s.cfg.IgnorePushedValues {
			s.applyPushed(k, id, c)
		}
		s.cache.Invalidate(k, id, c.Version)
	case c.Purge&change.PurgeAll != 0 && c.Purge&change.PurgeSoft != 0:
		// Walks the cache (rare: a soft purge of everything).
		s.cache.SoftPurgeAll()
	case c.Purge&change.PurgeAll != 0:
		// Without walking the cache: this may be gossip's goroutine.
		s.cache.InvalidateAll()
	case c.Purge&change.PurgeSoft != 0:
		s.cache.SoftPurge(k, id)
	default:
		s.cache.Purge(k, id)
	}
	if c.Purge != 0 {
		s.m.purges.Inc()
	}
	if c.AtUnixMs > 0 {
		if d := s.cfg.Clock.Now().Sub(time.UnixMilli(c.AtUnixMs)); d >= 0 {
			s.m.invalidationDelay.Observe(d.Seconds())
		}
	}
}

// applyPushed installs the answer a change carries in place of the key's
// older cached entry (cache.Update, which decodes it only then); the
// invalidation that follows raises the key's floor as for any change, and
// drops the old entry if the pushed one was not installed. An answer that
// does not parse, or names another version than its change, is counted
// and left out.
func (s *Server) applyPushed(k keys.Kind, id string, c change.Change) {
	_, err := s.cache.Update(k, id, c.Version, func() (*cache.Entry, error) {
		return s.loader.renderPushed(k, id, c.Version, c.Value)
	})
	if err != nil {
		s.m.changesBad.Inc()
	}
}

func (s *Server) wake() {
	select {
	case s.kick <- struct{}{}:
	default: // already awake or about to be
	}
}

// firstContactMade runs once the watermarks start from the origin's heads:
// anything cached before may have missed changes made before that point,
// so it is invalidated (fills in flight included). It does not walk the
// cache: gossip may be the caller.
func (s *Server) firstContactMade() {
	s.cache.InvalidateAll()
	s.log.Debug("edge: change tracking started from the origin's heads")
}

// changeLoop owns change-log catch-up: first contact, the periodic heads
// poll, and replaying partitions that fell behind.
func (s *Server) changeLoop() {
	defer s.loops.Done()
	var poll <-chan time.Time
	if s.cfg.HeadsPollInterval > 0 {
		t := time.NewTicker(s.cfg.HeadsPollInterval)
		defer t.Stop()
		poll = t.C
	}
	retry := max(s.cfg.HeadsPollInterval, time.Second)
	if s.cfg.HeadsPollInterval == 0 {
		retry = time.Second
	}
	contact := time.NewTimer(retry)
	defer contact.Stop()
	if s.marks.isKnown() {
		contact.Stop()
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-contact.C:
			if !s.pollHeads() {
				contact.Reset(retry)
			}
		case <-poll:
			s.pollHeads()
		case <-s.kick:
		case <-timer.C:
		}
		next := s.catchUp()
		s.confirmCatchUp()
		timer.Stop()
		if next > 0 {
			timer.Reset(time.Duration(next - s.cfg.Clock.Now().UnixNano()))
		}
	}
}

// pollHeads reads the origin's heads and observes them (the first time,
// they set the starting point). It reports whether the origin answered
// after first contact.
func (s *Server) pollHeads() bool {
	ctx, cancel := s.loopContext()
	defer cancel()
	sent := s.cfg.Clock.Now().UnixNano()
	heads, err := s.fetchHeads(ctx)
	if err != nil {
		s.log.Debug("edge: heads poll failed", "err", err)
		return false
	}
	s.ObserveHeads(heads)
	s.marks.expect(heads, sent)
	s.confirmCatchUp()
	return s.marks.isKnown()
}

// catchUp replays every partition that is due and returns when the next
// one will be (unix ns, 0 for none).
func (s *Server) catchUp() int64 {
	due, _ := s.marks.takeDue(s.cfg.Clock.Now().UnixNano())
	for _, p := range due {
		if s.loopCtx.Err() != nil {
			return 0
		}
		s.replay(p)
	}
	now := s.cfg.Clock.Now().UnixNano()
	again, next := s.marks.takeDue(now)
	if len(again) > 0 {
		return now // a backlog left for the next turn
	}
	return next
}

// replay reads partition p's change log from the last seq applied to the
// target and applies it. If the log no longer holds the start of what was
// missed (it was trimmed), nothing cached for the partition can be trusted
// and all of it is dropped.
func (s *Server) replay(p int) {
	s.m.gapReplays.Inc()
	retryAt := s.cfg.Clock.Now().Add(max(s.cfg.OriginTimeout, 250*time.Millisecond)).UnixNano()
	start, _ := s.marks.position(p)
	defer func() {
		// Behind still: soon again if this pass made progress (a backlog),
		// after a pause if it did not (the origin fails or lags).
		if last, _ := s.marks.position(p); last > start {
			s.marks.settle(p, s.cfg.Clock.Now().UnixNano())
		} else {
			s.marks.settle(p, retryAt)
		}
	}()
	for range maxPagesPerReplay {
		after, target := s.marks.position(p)
		if after >= target {
			break
		}
		ctx, cancel := s.loopContext()
		page, err := s.fetchChanges(ctx, p, after)
		cancel()
		if err != nil {
			s.log.Debug("edge: change log read failed", "partition", p, "err", err)
			return
		}
		upto := after
		trimmed := page.Head > after && (page.First > after+1 || len(page.Changes) == 0)
		if trimmed {
			s.cache.DropPartition(p)
			s.m.partitionDrops.Inc()
			s.log.Info("edge: changes missed are no longer in the log; partition dropped", "partition", p, "after", after, "first", page.First, "head", page.Head)
			upto = page.Head
		}
		for _, c := range page.Changes {
			if c.Seq <= after {
				continue
			}
			s.apply(c)
			s.m.changesReplayed.Inc()
			upto = max(upto, c.Seq)
		}
		if upto == after && page.Head <= after {
			// The origin's log is not ahead of us after all (another origin
			// of the region, lagging): nothing to do until it catches up.
			s.marks.applied(p, after, page.Head)
			break
		}
		s.marks.applied(p, upto, page.Head)
	}
}

// loopContext bounds one origin call of the background loops; it ends
// early when the loops stop.
func (s *Server) loopContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.loopCtx, s.cfg.OriginTimeout)
}

// CheckOrigin asks an origin for its heads once and fails with an error
// wrapping ErrPartitionMismatch, naming both counts, when its store has
// another partition count than Config.Partitions (the edge must not
// start: its partitions would not be the store's). An origin that cannot
// be reached is an ErrOrigin error; the caller may start anyway, since
// every later answer is checked too (decodeHeads refuses it).
func (s *Server) CheckOrigin(ctx context.Context) error {
	_, err := s.fetchHeads(ctx)
	return err
}

func (s *Server) fetchHeads(ctx context.Context) ([]uint64, error) {
	var heads []uint64
	err := s.origin.do(ctx, "heads", fasthttp.MethodGet, wire.PathHeads, nil, statusOK, func(r *fasthttp.Response) error {
		var err error
		heads, err = decodeHeads(r.Body(), s.cfg.Partitions)
		return err
	})
	return heads, err
}

func (s *Server) fetchChanges(ctx context.Context, p int, after uint64) (change.Page, error) {
	var page change.Page
	path := wire.PathChanges + "?partition=" + strconv.Itoa(p) + "&after=" + strconv.FormatUint(after, 10) + "&limit=" + strconv.Itoa(changePageSize)
	err := s.origin.do(ctx, "changes", fasthttp.MethodGet, path, nil, statusOK, func(r *fasthttp.Response) error {
		var err error
		page, err = decodePage(p, r.Body())
		return err
	})
	return page, err
}

// Partitions returns Config.Partitions, defaults filled in.
func (s *Server) Partitions() int { return s.cfg.Partitions }
