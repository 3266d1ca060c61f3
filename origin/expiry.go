package origin

import (
	"context"
	"time"
)

// expireBatch bounds one ExpireHolds call so a backlog after downtime is
// worked off in steps instead of one huge transaction.
const expireBatch = 500

// expireLoop releases held reservations whose time ran out. It runs on
// every origin; stores make each expiry happen exactly once, so several
// origins on one store is safe. A restart picks up where storage is: holds
// that expired while no origin ran are released on the first tick.
func (s *Server) expireLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.ExpireInterval)
	defer t.Stop()
	for {
		s.expireDue()
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

func (s *Server) expireDue() {
	for {
		ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
		n, err := s.store.ExpireHolds(ctx, s.cfg.Clock.Now(), expireBatch)
		cancel()
		if err != nil {
			if s.ctx.Err() != nil {
				return // Close cancelled the call: a clean stop, not a failure
			}
			s.log.Warn("expiring holds failed", "err", err)
			return
		}
		if n > 0 {
			s.metrics.holdsExpired.Add(float64(n))
			s.log.Debug("expired holds", "count", n)
		}
		if n < expireBatch {
			return
		}
		select {
		case <-s.stop:
			return
		default:
		}
	}
}
