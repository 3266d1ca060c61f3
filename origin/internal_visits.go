package origin

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/wire"
	"github.com/shortstock/shortstock/origin/store"
)

// internalVisits leases edges their shares of a link's remaining visits
// (max_visits; see store.VisitLeaser for the escrow).
func (s *Server) internalVisits(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	if !keys.ValidCode(code) {
		s.writeError(w, r, badRequest("invalid_code", "malformed code"))
		return
	}
	leaser, ok := s.store.(store.VisitLeaser)
	if !ok {
		s.writeError(w, r, &apiError{http.StatusNotImplemented, "not_implemented", "this storage backend cannot enforce max_visits"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, wire.MaxVisitLeaseBytes)
	var req wire.VisitLeaseRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		s.writeError(w, r, badRequest("invalid_json", "visit lease request is not valid JSON"))
		return
	}
	now := s.cfg.Clock.Now()
	lr := store.LeaseRequest{
		Code: code, ReturnID: req.ReturnID, Used: req.Used, NewID: req.ID,
		Want: min(req.Want, s.cfg.VisitLeaseMax), Divide: s.cfg.VisitLeaseDivide,
		Now: now, TTL: s.cfg.VisitLeaseTTL,
	}
	if !store.ValidLeaseRequest(lr) {
		s.writeError(w, r, badRequest("invalid_lease", "malformed visit lease request"))
		return
	}
	ctx, cancel := s.opContext(r)
	defer cancel()
	l, err := leaser.LeaseVisits(ctx, lr)
	if errors.Is(err, store.ErrNotFound) {
		writeJSON(w, http.StatusNotFound, wire.Missing{Error: "not_found"})
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := wire.VisitLease{Unlimited: l.Unlimited, Granted: l.Granted, Available: l.Available}
	if l.Granted > 0 {
		out.TTLMs = max(l.ExpiresAt.Sub(now).Milliseconds(), 0)
	}
	writeJSON(w, http.StatusOK, out)
}
