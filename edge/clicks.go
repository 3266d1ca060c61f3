package edge

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/slicer"
	"github.com/shortstock/shortstock/internal/wire"
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
	s.flush(ctx, false)
	s.clickMu.Lock()
	defer s.clickMu.Unlock()
	if n := len(s.pendingClicks); n > 0 || s.inflight != nil {
		s.log.Warn("edge: clicks not delivered at shutdown", "codes", n, "batch_unacknowledged", s.inflight != nil)
	}
}

// flushClicks is one periodic flush.
func (s *Server) flushClicks(ctx context.Context) { s.flush(ctx, true) }

// flush drains the counters (and the analytics worker) into what is
// pending and posts it in batches. A batch is frozen when built and
// resent unchanged under its ID until the origin takes it: the origin
// applies an ID once, so a batch whose answer was lost is not counted
// twice. Clicks counted meanwhile wait for the next batch. hold: see
// shipAmount; a flush that holds (all but the last, at shutdown) also
// leaves the counters alone while a batch is still refused.
func (s *Server) flush(ctx context.Context, hold bool) {
	s.clickMu.Lock()
	defer s.clickMu.Unlock()
	s.flushGen++
	// A new flush, in slices (see flushSlicer); the last one, at shutdown,
	// has no requests to make room for.
	s.flushSlicer = slicer.Slicer{}
	if !hold {
		s.flushSlicer.Work = math.MaxInt64
	}
	defer func() { s.m.clicksPendingSize.Set(float64(len(s.pendingClicks))) }()
	// The worker first, then the counters: a click's count is taken no
	// earlier than its classification (see shipAmount for the rest).
	s.takeAnalytics()
	// The batch the origin refused last time goes first. While it is still
	// refused, new counts stay where they are counted, in the cached
	// entries, rather than in pendingClicks: an edge whose origin is slow
	// or down for minutes would otherwise hold a map entry for every code
	// clicked meanwhile (37 MB with uniform traffic over 1 M links).
	if s.inflight != nil && !s.send(ctx) && hold {
		return
	}
	s.noteSampling(s.clicks.Drain(s.pendingClicks, &s.flushSlicer))
	for {
		if s.inflight == nil {
			if s.inflight = s.nextBatch(hold); s.inflight == nil {
				return
			}
		}
		if !s.send(ctx) {
			return
		}
	}
}

// send posts the batch in flight; false when the origin did not take it
// (it is kept, frozen, for the next flush).
func (s *Server) send(ctx context.Context) bool {
	err := s.origin.do(ctx, "clicks", fasthttp.MethodPost, wire.PathClicks, s.inflight.body, statusNoContent, func(*fasthttp.Response) error { return nil })
	if err != nil {
		s.m.clickFlushErrors.Inc()
		s.log.Debug("edge: click flush failed; the batch is resent as it is", "batch", s.inflight.id, "codes_waiting", len(s.pendingClicks), "err", err)
		return false
	}
	s.m.clicksFlushed.Add(float64(s.inflight.total))
	s.inflight = nil
	return true
}

// clickBatchHead is the start of a wire.ClickBatch for this edge, up to the
// opening brace of counts. The batch is written by hand: encoding/json
// would reflect over and sort a map of tens of thousands of codes every
// second, on the core that serves requests.
func clickBatchHead(edge string) []byte {
	name, _ := json.Marshal(edge) // a string always marshals
	return append(append([]byte(`{"edge":`), name...), `,"counts":{`...)
}

// appendClick appends `"code":n`. A code never needs JSON escaping (its
// alphabet is [A-Za-z0-9_-]: only valid codes are cached), but one that
// somehow did is escaped rather than trusted.
func appendClick(b []byte, code string, n int64) []byte {
	if keys.ValidCode(code) {
		b = append(b, '"')
		b = append(b, code...)
		b = append(b, '"')
	} else {
		q, _ := json.Marshal(code)
		b = append(b, q...)
	}
	b = append(b, ':')
	return strconv.AppendInt(b, n, 10)
}
