package origin

import (
	"context"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

// ledgerTrimBatch and changeTrimBatch bound one TrimLedger or TrimChanges
// call, so a pass never holds a partition (its Redis script, its bbolt
// writer) for long; a backlog is worked off call by call.
const (
	ledgerTrimBatch = 2_000
	changeTrimBatch = 10_000
)

// retentionLoop applies, every LedgerTrimInterval until Close, the
// ledger's retention (Config.LedgerRetention, when set) and the change
// log's age retention of a store that needs it applied from outside
// (store.ChangeTrimmer: Redis; the embedded store trims its log itself).
// It runs on every origin: a trim is one atomic step per partition, so
// several origins trimming at once only share the work.
func (s *Server) retentionLoop(ct store.ChangeTrimmer) {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.LedgerTrimInterval)
	defer t.Stop()
	for {
		if s.cfg.LedgerRetention > 0 {
			before := s.cfg.Clock.Now().Add(-s.cfg.LedgerRetention)
			s.drainTrim("ledger retention", ledgerTrimBatch, func(ctx context.Context) (int, error) {
				return s.store.TrimLedger(ctx, before, ledgerTrimBatch)
			})
		}
		if ct != nil {
			now := s.cfg.Clock.Now()
			s.drainTrim("change log retention", changeTrimBatch, func(ctx context.Context) (int, error) {
				return ct.TrimChanges(ctx, now, changeTrimBatch)
			})
		}
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

// drainTrim calls trim, batch by batch, until a call removes fewer than
// batch, fails, or the origin stops.
func (s *Server) drainTrim(what string, batch int, trim func(context.Context) (int, error)) {
	for {
		ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
		n, err := trim(ctx)
		cancel()
		if err != nil {
			if s.ctx.Err() == nil {
				s.log.Warn(what+": trim failed", "err", err)
			}
			return
		}
		if n > 0 {
			s.log.Debug(what+": trimmed", "count", n)
		}
		if n < batch {
			return
		}
		select {
		case <-s.stop:
			return
		default:
		}
	}
}

// Batches the stores accept (a negative constant does not compile).
const (
	_ = uint(store.MaxTrimBatch - ledgerTrimBatch)
	_ = uint(store.MaxTrimBatch - changeTrimBatch)
)
