package edge

import (
	"context"
	"encoding/json"
	"time"

	"github.com/shortstock/shortstock/internal/wire"
	"github.com/valyala/fasthttp"
)

// maxCodesPerBatch keeps one click batch well under wire.MaxClickBatchBytes
// (a code is at most 64 bytes, a count at most 19 digits, plus JSON).
const maxCodesPerBatch = 20000

// clickLoop sends the clicks counted in cached entries to the origin every
// ClickFlushInterval. Counts the origin did not take stay in pending and go
// with the next flush, so an outage delays clicks but loses none.
func (s *Server) clickLoop() {
	defer s.loops.Done()
	t := time.NewTicker(s.cfg.ClickFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			ctx, cancel := s.loopContext()
			s.flushClicks(ctx)
			cancel()
		}
	}
}

// flushClicksFinal sends what is left at shutdown, within ctx.
func (s *Server) flushClicksFinal(ctx context.Context) {
	s.flushClicks(ctx)
	s.clickMu.Lock()
	defer s.clickMu.Unlock()
	if n := len(s.pendingClicks); n > 0 {
		s.log.Warn("edge: clicks not delivered at shutdown", "codes", n)
	}
}

// flushClicks drains the counters into pendingClicks and posts them in
// batches; a batch the origin took is removed, one it did not is kept.
func (s *Server) flushClicks(ctx context.Context) {
	s.clickMu.Lock()
	defer s.clickMu.Unlock()
	s.clicks.Drain(s.pendingClicks)
	defer func() { s.m.clicksPendingSize.Set(float64(len(s.pendingClicks))) }()
	for len(s.pendingClicks) > 0 {
		batch := make(map[string]int64, min(len(s.pendingClicks), maxCodesPerBatch))
		var total int64
		for code, n := range s.pendingClicks {
			batch[code] = n
			total += n
			if len(batch) == maxCodesPerBatch {
				break
			}
		}
		body, err := json.Marshal(wire.ClickBatch{Edge: s.cfg.NodeName, Counts: batch})
		if err != nil { // cannot happen for a map of strings to ints
			s.log.Error("edge: encode click batch", "err", err)
			return
		}
		err = s.origin.do(ctx, "clicks", fasthttp.MethodPost, wire.PathClicks, body, statusNoContent, func(*fasthttp.Response) error { return nil })
		if err != nil {
			// Kept for the next flush. Clicks are at least once: if the origin
			// applied a batch whose answer was lost, it is counted twice.
			s.m.clickFlushErrors.Inc()
			s.log.Debug("edge: click flush failed; kept for the next one", "codes", len(s.pendingClicks), "err", err)
			return
		}
		for code := range batch {
			delete(s.pendingClicks, code)
		}
		s.m.clicksFlushed.Add(float64(total))
	}
}
