package edge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/shortstock/shortstock/edge/cache"
	"github.com/shortstock/shortstock/internal/wire"
)

// Visit limits (max_visits) at the edge. The origin escrows a link's
// remaining visits; this edge redirects a limited link only within a
// share (lease) it holds, taken one visit at a time under the lease's
// lock. When the share runs out the edge returns it (with how much it
// used) and asks for another in the same call; when the origin has none
// to give, the edge answers 404 like an expired link and asks again a
// little later (others may return theirs). Shares idle for a while are
// returned by a background loop, and all of them at Shutdown. If the
// origin cannot be reached, the edge refuses the visit: exceeding the
// limit is never acceptable, refusing a few early is.
const (
	// visitRetry is how long a link stays refused after the origin had no
	// visits to lease (or did not answer) before the edge asks again.
	visitRetry = 200 * time.Millisecond
	// visitIdle is how long an unused share is kept before it goes back.
	visitIdle = time.Second
	// visitSweep is how often idle shares are looked for.
	visitSweep = 250 * time.Millisecond
	// visitFirstWant and visitMaxWant bound how much the edge asks for: it
	// doubles what it asks while shares run out fast, halves it when they
	// go back unused.
	visitFirstWant = 4
	visitMaxWant   = 1024
)

// visitLeases holds this edge's shares, by code.
type visitLeases struct {
	s  *Server
	mu sync.Mutex
	m  map[string]*visitLease
	// added receives (capacity one) when m gains its first link.
	added chan struct{}
}

// visitLease is the share of one link. Every field is guarded by mu.
type visitLease struct {
	mu      sync.Mutex
	code    string
	id      string // "" when none is held
	granted int64
	left    int64
	// deadline: the share is not used past it (local unix ns), a little
	// before the origin's expiry counted from when the request was sent.
	deadline  int64
	gotAt     int64
	lastUse   int64
	refusedTo int64 // no origin call before this (local unix ns)
	unlimited bool
	want      int64
	// gone: sweep removed it from the map; takers look it up again.
	gone bool
	// retry is a request whose answer was lost: it is sent again as is
	// (the origin answers a repeat with the same lease).
	retry *wire.VisitLeaseRequest
}

func newVisitLeases(s *Server) *visitLeases {
	return &visitLeases{s: s, m: map[string]*visitLease{}, added: make(chan struct{}, 1)}
}

func (v *visitLeases) get(code []byte) *visitLease {
	v.mu.Lock()
	defer v.mu.Unlock()
	l := v.m[string(code)]
	if l == nil {
		l = &visitLease{code: string(code), want: visitFirstWant}
		v.m[l.code] = l
		if len(v.m) == 1 {
			select { // the sweep loop may be asleep (nothing held)
			case v.added <- struct{}{}:
			default:
			}
		}
	}
	return l
}

// take uses one visit of code's share, renewing it from the origin when
// it runs out; false means the link has no visit left for this edge now.
func (v *visitLeases) take(code []byte, now int64) bool {
	l := v.get(code)
	l.mu.Lock()
	for l.gone {
		// Forgotten by sweep between get and Lock: use the map's.
		l.mu.Unlock()
		l = v.get(code)
		l.mu.Lock()
	}
	defer l.mu.Unlock()
	l.lastUse = now
	if l.unlimited {
		return true
	}
	if l.left > 0 && now < l.deadline {
		l.left--
		return true
	}
	if now < l.refusedTo {
		return false
	}
	ctx, cancel := context.WithTimeout(v.s.loopCtx, v.s.cfg.OriginTimeout)
	v.renewLocked(ctx, l, now, true)
	cancel()
	if l.left > 0 {
		l.left--
		return true
	}
	return l.unlimited
}

// refused reports, for a HEAD, whether code's visits are known to be
// used up here (a HEAD is not a visit: it neither uses nor asks).
func (v *visitLeases) refused(code []byte, now int64) bool {
	v.mu.Lock()
	l := v.m[string(code)]
	v.mu.Unlock()
	if l == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.unlimited && l.left == 0 && now < l.refusedTo
}

func newLeaseID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// renewLocked returns the held share (if any) and, with ask, asks for a
// new one, in one call.
func (v *visitLeases) renewLocked(ctx context.Context, l *visitLease, now int64, ask bool) {
	req := l.retry
	if req == nil {
		req = &wire.VisitLeaseRequest{Edge: v.s.cfg.NodeName}
		if l.id != "" {
			req.ReturnID, req.Used = l.id, l.granted-l.left
			// Used up fast: ask for more next time; back unused: less.
			switch {
			case l.left == 0 && now-l.gotAt < int64(visitIdle):
				l.want = min(l.want*2, visitMaxWant)
			case l.left > 0:
				l.want = max(l.want/2, 1)
			}
		}
		if ask {
			req.ID, req.Want = newLeaseID(), l.want
		}
	}
	// From here the old share is not used, whatever the answer.
	l.id, l.granted, l.left = "", 0, 0
	sent := v.s.cfg.Clock.Now().UnixNano()
	var ans wire.VisitLease
	missing := false
	body, _ := json.Marshal(req)
	err := v.s.origin.do(ctx, "visits", fasthttp.MethodPost, wire.PathVisits+l.code, body, statusOKOrMissing, func(r *fasthttp.Response) error {
		if r.StatusCode() == fasthttp.StatusNotFound {
			missing = true
			return nil
		}
		if err := json.Unmarshal(r.Body(), &ans); err != nil || ans.Granted < 0 || ans.TTLMs < 0 {
			return fmt.Errorf("%w: visit lease %q", ErrProtocol, r.Body())
		}
		return nil
	})
	switch {
	case err != nil:
		l.retry = req
		l.refusedTo = now + int64(visitRetry)
		v.s.log.Debug("edge: visit lease failed; visits refused until it succeeds", "code", l.code, "err", err)
		return
	case missing:
		l.retry = nil
		l.refusedTo = now + int64(visitRetry)
		return
	}
	l.retry = nil
	l.unlimited = ans.Unlimited
	if ans.Granted == 0 {
		l.refusedTo = now + int64(visitRetry)
		return
	}
	ttl := ans.TTLMs * int64(time.Millisecond)
	l.id, l.granted, l.left, l.gotAt = req.ID, ans.Granted, ans.Granted, now
	l.deadline = sent + ttl - ttl/10
}

// sweep returns shares idle for visitIdle or past their deadline, and
// forgets links that hold nothing; with all, every share (Shutdown).
func (v *visitLeases) sweep(ctx context.Context, now int64, all bool) {
	v.mu.Lock()
	ls := make([]*visitLease, 0, len(v.m))
	for _, l := range v.m {
		ls = append(ls, l)
	}
	v.mu.Unlock()
	for _, l := range ls {
		l.mu.Lock()
		idle := now-l.lastUse >= int64(visitIdle)
		if (l.id != "" || l.retry != nil) && (all || idle || now >= l.deadline) {
			v.renewLocked(ctx, l, now, false)
		}
		forget := l.id == "" && l.retry == nil && (all || idle)
		l.gone = l.gone || forget
		l.mu.Unlock()
		if forget {
			v.mu.Lock()
			if v.m[l.code] == l {
				delete(v.m, l.code)
			}
			v.mu.Unlock()
		}
	}
}

// visitLoop returns idle shares; it stops with the other loops. With no
// link tracked it sleeps until one is (get signals added), so an idle edge
// does not wake every visitSweep.
func (s *Server) visitLoop() {
	defer s.loops.Done()
	t := time.NewTicker(visitSweep)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			ctx, cancel := s.loopContext()
			s.visits.sweep(ctx, s.cfg.Clock.Now().UnixNano(), false)
			cancel()
		}
		if !s.visits.empty() {
			continue
		}
		t.Stop()
		select {
		case <-s.stop:
			return
		case <-s.visits.added:
		}
		t.Reset(visitSweep)
	}
}

// empty reports whether no link is tracked.
func (v *visitLeases) empty() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.m) == 0
}

// returnVisitsFinal returns every share at Shutdown, within ctx; one
// that does not make it is settled by the origin at its expiry.
func (s *Server) returnVisitsFinal(ctx context.Context) {
	s.visits.sweep(ctx, s.cfg.Clock.Now().UnixNano(), true)
}

// visitAllowed decides a request for a link entry with features: a link
// with a visit limit redirects a GET only within this edge's share, and a
// HEAD only while the share is not known to be used up.
func (s *Server) visitAllowed(ctx *fasthttp.RequestCtx, e *cache.Entry, id []byte, now time.Time) bool {
	x, ok := parseLinkExt(e.Ext())
	if !ok || x.flags&extMaxVisits == 0 {
		return true
	}
	if !ctx.IsGet() {
		return !s.visits.refused(id, now.UnixNano())
	}
	return s.visits.take(id, now.UnixNano())
}
