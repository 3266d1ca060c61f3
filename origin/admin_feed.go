package origin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shortstock/shortstock/origin/ledger"
	"github.com/shortstock/shortstock/origin/store"
)

const (
	// maxFeedWait bounds ?wait= (below the HTTP server's write timeout).
	maxFeedWait = 25 * time.Second
	// feedPoll is how often a waiting reader looks for new movements.
	feedPoll = 50 * time.Millisecond
	// sseLifetime bounds one SSE connection; the client reconnects with
	// Last-Event-ID and loses nothing.
	sseLifetime = 10 * time.Minute
	// sseHeartbeat keeps idle SSE connections (and proxies) alive.
	sseHeartbeat = 15 * time.Second
)

// feedPage is the answer of GET /v1/stock/movements.
type feedPage struct {
	Movements []store.Movement `json:"movements"`
	Next      string           `json:"next"`
}

// movementFeed serves GET /v1/stock/movements: every SKU's movements
// after a cursor, as a page (?after=&limit=&wait= long poll) or, with
// Accept: text/event-stream, as server-sent events resuming from
// Last-Event-ID.
func (s *Server) movementFeed(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after := q.Get("after")
	sse := strings.Contains(r.Header.Get("Accept"), "text/event-stream")
	if id := r.Header.Get("Last-Event-ID"); sse && id != "" {
		after = id
	}
	cur, err := ledger.ParseCursor(after)
	if err != nil {
		s.writeError(w, r, badRequest("invalid_cursor", "after (or Last-Event-ID) must be a cursor the feed returned"))
		return
	}
	limit := 100
	if l := q.Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit < 1 || limit > store.MaxMovementsLimit {
			s.writeError(w, r, badRequest("invalid_limit", "limit must be between 1 and 1000"))
			return
		}
	}
	var wait time.Duration
	if ws := q.Get("wait"); ws != "" {
		n, err := strconv.Atoi(ws)
		if err != nil || n < 0 || time.Duration(n)*time.Second > maxFeedWait {
			s.writeError(w, r, badRequest("invalid_wait", "wait must be between 0 and 25 seconds"))
			return
		}
		wait = time.Duration(n) * time.Second
	}
	if sse {
		s.streamFeed(w, r, cur)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait+5*time.Second)
	defer cancel()
	deadline := time.Now().Add(wait)
	for {
		moves, next, err := ledger.ReadFeed(ctx, s.store, cur, limit)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if len(moves) > 0 || !time.Now().Before(deadline) || !s.sleep(ctx, feedPoll) {
			if moves == nil {
				moves = []store.Movement{}
			}
			writeJSON(w, http.StatusOK, feedPage{Movements: moves, Next: next.String()})
			return
		}
	}
}

// sleep waits d; false when the request ended or the origin is closing.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.streams:
		return false
	}
}

// streamFeed writes movements as SSE events ("id: cursor after it",
// "event: movement", "data: movement JSON") until the client goes, the
// origin closes, or sseLifetime passes.
func (s *Server) streamFeed(w http.ResponseWriter, r *http.Request, cur ledger.Cursor) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	ctx, cancel := context.WithTimeout(r.Context(), sseLifetime)
	defer cancel()
	write := func(b []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write([]byte("retry: 1000\n\n")) {
		return
	}
	lastBeat := time.Now()
	for {
		moves, next, err := ledger.ReadFeed(ctx, s.store, cur, store.MaxMovementsLimit)
		if err != nil {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				s.log.Warn("movement feed: read failed", "err", err)
				_ = write([]byte(": storage unavailable, retrying\n\n"))
				if s.sleep(ctx, time.Second) {
					continue
				}
			}
			return
		}
		var buf []byte
		for i := range moves {
			b, _ := json.Marshal(&moves[i])
			buf = append(buf, "id: "...)
			buf = append(buf, moves[i].Cursor...)
			buf = append(buf, "\nevent: movement\ndata: "...)
			buf = append(buf, b...)
			buf = append(buf, "\n\n"...)
		}
		cur = next
		switch {
		case len(buf) > 0:
			if !write(buf) {
				return
			}
			lastBeat = time.Now()
		case time.Since(lastBeat) > sseHeartbeat:
			if !write([]byte(": keep-alive\n\n")) {
				return
			}
			lastBeat = time.Now()
		}
		if len(moves) == 0 && !s.sleep(ctx, feedPoll) {
			return
		}
	}
}
