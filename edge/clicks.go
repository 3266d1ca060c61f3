package edge

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
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
	// The map merges the counts of one code held by two entries (an old
	// and a new version both clicked since the last flush): a JSON object
	// with the code twice would lose one of them at the origin.
	s.clicks.Drain(s.pendingClicks)
	defer func() { s.m.clicksPendingSize.Set(float64(len(s.pendingClicks))) }()
	for len(s.pendingClicks) > 0 {
		var total int64
		sent := s.clickCodes[:0]
		body := append(s.clickBody[:0], s.clickBatchHead...)
		for code, n := range s.pendingClicks {
			if len(sent) > 0 {
				body = append(body, ',')
			}
			body = appendClick(body, code, n)
			sent = append(sent, code)
			total += n
			if len(sent) == maxCodesPerBatch {
				break
			}
		}
		body = append(body, "}}"...)
		s.clickBody, s.clickCodes = body, sent
		err := s.origin.do(ctx, "clicks", fasthttp.MethodPost, wire.PathClicks, body, statusNoContent, func(*fasthttp.Response) error { return nil })
		if err != nil {
			// Kept for the next flush. Clicks are at least once: if the origin
			// applied a batch whose answer was lost, it is counted twice.
			s.m.clickFlushErrors.Inc()
			s.log.Debug("edge: click flush failed; kept for the next one", "codes", len(s.pendingClicks), "err", err)
			return
		}
		for _, code := range sent {
			delete(s.pendingClicks, code)
		}
		s.m.clicksFlushed.Add(float64(total))
	}
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
