package origin

import (
	"context"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

// ledgerTrimBatch bounds one TrimLedger call, so the pass never holds a
// partition (its Redis script, its bbolt writer) for long; a backlog is
// worked off call by call.
const ledgerTrimBatch = 2_000

// ledgerRetentionLoop applies Config.LedgerRetention every
// LedgerTrimInterval until Close. It runs on every origin: a trim is one
// atomic step per partition, so several origins trimming at once only
// share the work.
func (s *Server) ledgerRetentionLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.LedgerTrimInterval)
	defer t.Stop()
	for {
		s.trimLedger()
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

// trimLedger trims everything older than the retention, batch by batch.
func (s *Server) trimLedger() {
	before := s.cfg.Clock.Now().Add(-s.cfg.LedgerRetention)
	for {
		ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
		n, err := s.store.TrimLedger(ctx, before, ledgerTrimBatch)
		cancel()
		if err != nil {
			if s.ctx.Err() == nil {
				s.log.Warn("ledger retention: trim failed", "err", err)
			}
			return
		}
		if n > 0 {
			s.log.Debug("ledger retention: trimmed movements", "count", n)
		}
		if n < ledgerTrimBatch {
			return
		}
		select {
		case <-s.stop:
			return
		default:
		}
	}
}

// A batch the stores accept (a negative constant does not compile).
const _ = uint(store.MaxTrimBatch - ledgerTrimBatch)
