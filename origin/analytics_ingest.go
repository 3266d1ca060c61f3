package origin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/wire"
	"github.com/shortstock/shortstock/origin/store"
)

// validBatchID: what an edge names its batches with ("<instance>-<seq>").
func validBatchID(id string) bool {
	if id == "" || len(id) > store.MaxBatchIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// analyticsBatch turns a wire batch into a store batch, dropping what
// cannot be a count (as the counts path does: one bad entry must not lose
// an edge's other clicks) and hours outside what is kept or in the future.
func (s *Server) analyticsBatch(b *wire.ClickBatch, counts map[string]int64) store.ClickBatch {
	now := s.cfg.Clock.Now()
	oldest := store.HourOf(now.Add(-s.cfg.AnalyticsRetention))
	newest := store.HourOf(now.Add(time.Hour)) // an edge's clock may run a little ahead
	out := store.ClickBatch{ID: b.Batch, Counts: counts, Retention: s.cfg.AnalyticsRetention}
	classified := make(map[string]bool, len(b.Hours))
	for _, h := range b.Hours {
		classified[h.Code] = true
	}
	// Counts the edge did not classify: unclassified clicks at the flush's
	// hour (the origin's when the edge's is out of range).
	at := time.Unix(b.At, 0)
	if b.At == 0 || at.Before(oldest) || at.After(newest) {
		at = now
	}
	for code, n := range counts {
		if !classified[code] {
			out.Hours = append(out.Hours, store.CodeHour{Code: code, HourStats: store.HourStats{Hour: store.HourOf(at), Clicks: n}})
		}
	}
	for _, h := range b.Hours {
		t := time.Unix(h.Hour, 0).UTC()
		if !keys.ValidCode(h.Code) || t.Before(oldest) || t.After(newest) ||
			!countOK(h.Clicks) || !countOK(h.Bots) || !countOK(h.Sampled) || h.Clicks+h.Bots == 0 {
			continue
		}
		out.Hours = append(out.Hours, store.CodeHour{Code: h.Code, HourStats: store.HourStats{
			Hour: store.HourOf(t), Clicks: h.Clicks, Bots: h.Bots, Sampled: h.Sampled,
			Referrers: breakdown(h.Referrers), Devices: breakdown(h.Devices),
			Browsers: breakdown(h.Browsers), Countries: breakdown(h.Countries),
		}})
	}
	return out
}

func countOK(n int64) bool { return n >= 0 && n <= MaxQuantity }

// breakdown keeps the well-formed entries of an edge's breakdown, at most
// wire.MaxBreakdownKeys of them.
func breakdown(m map[string]int64) map[string]int64 {
	var out map[string]int64
	for k, n := range m {
		if n <= 0 || n > MaxQuantity || !dimensionOK(k) {
			continue
		}
		if out == nil {
			out = make(map[string]int64, len(m))
		}
		if len(out) == wire.MaxBreakdownKeys {
			break
		}
		out[k] = n
	}
	return out
}

// dimensionOK: a printable ASCII name of bounded length (edges normalise
// referrer hosts, browsers and countries to that).
func dimensionOK(k string) bool {
	if k == "" || len(k) > wire.MaxDimensionLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] >= 0x7f {
			return false
		}
	}
	return true
}

// applyClickBatch applies a batch that carries an ID once. It reports
// false when the store keeps no analytics (the caller then counts as
// before).
func (s *Server) applyClickBatch(ctx context.Context, b *wire.ClickBatch, counts map[string]int64) (bool, error) {
	a, ok := s.store.(store.Analytics)
	if !ok {
		return false, nil
	}
	if b.Batch == "" {
		// A batch without an ID (an older edge, a script) still reaches the
		// series, at least once as before: under an ID of its own.
		var id [12]byte
		_, _ = rand.Read(id[:]) // crypto/rand.Read never fails
		b.Batch = "anon-" + hex.EncodeToString(id[:])
	} else if !validBatchID(b.Batch) {
		return true, badRequest("invalid_batch", "a batch ID is 1-128 of [A-Za-z0-9._:-]")
	}
	dup, err := a.ApplyClickBatch(ctx, s.analyticsBatch(b, counts))
	if err != nil {
		return true, err
	}
	if dup {
		s.metrics.clickBatchReplays.Inc()
		s.log.Debug("click batch already applied; ignored", "batch", b.Batch)
	}
	return true, nil
}

// pruneLoop drops analytics older than the retention, hourly, on stores
// that do not expire them on their own.
func (s *Server) pruneLoop() {
	defer s.wg.Done()
	a, ok := s.store.(store.Analytics)
	if !ok {
		return
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(s.ctx, time.Minute)
		err := a.PruneAnalytics(ctx, s.cfg.Clock.Now().Add(-s.cfg.AnalyticsRetention))
		cancel()
		if err != nil && s.ctx.Err() == nil {
			s.log.Warn("pruning analytics failed", "err", err)
		}
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}
