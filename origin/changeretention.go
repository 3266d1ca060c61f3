package origin

import (
	"context"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

// changeTrimBatch bounds one TrimChanges call, as ledgerTrimBatch does.
const changeTrimBatch = 10_000

// changeRetentionLoop applies the change log's age retention of a store
// that needs it applied from outside (store.ChangeTrimmer: Redis) every
// LedgerTrimInterval until Close. Every origin runs it: each step is one
// atomic script per partition, so origins sharing a store share the work.
func (s *Server) changeRetentionLoop(ct store.ChangeTrimmer) {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.LedgerTrimInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.trimChanges(ct)
	}
}

// trimChanges trims every change past the retention, batch by batch.
func (s *Server) trimChanges(ct store.ChangeTrimmer) {
	for {
		ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
		n, err := ct.TrimChanges(ctx, s.cfg.Clock.Now(), changeTrimBatch)
		cancel()
		if err != nil {
			if s.ctx.Err() == nil {
				s.log.Warn("change log retention: trim failed", "err", err)
			}
			return
		}
		if n > 0 {
			s.log.Debug("change log retention: trimmed changes", "count", n)
		}
		if n < changeTrimBatch {
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
const _ = uint(store.MaxTrimBatch - changeTrimBatch)
