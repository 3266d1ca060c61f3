package origin

import (
	"errors"
	"net/http"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

func (s *Server) createReservation(w http.ResponseWriter, r *http.Request) {
	idemKey := r.Header.Get("Idempotency-Key")
	if idemKey != "" && !store.ValidIdempotencyKey(idemKey) {
		s.writeError(w, r, badRequest("invalid_idempotency_key", "Idempotency-Key must be 1 to 255 printable ASCII characters"))
		return
	}
	body, ae := s.readBody(w, r)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	req, lines, ae := decodeReservation(body)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	if lines != nil {
		s.createCart(w, r, lines, idemKey)
		return
	}
	req.IdempotencyKey = idemKey
	req.Now = s.cfg.Clock.Now().UTC().Truncate(time.Millisecond) // every backend stores ms
	req.ID = keys.NewReservationID(s.space.Partition(keys.KindStock, req.SKU))
	ctx, cancel := s.opContext(r)
	defer cancel()
	res, err := s.store.Reserve(ctx, req)
	if errors.Is(err, store.ErrNotFound) {
		err = &apiError{http.StatusNotFound, "not_found", "no stock for sku " + req.SKU}
	}
	if err == nil && res.Replayed {
		// Tell the client it got the recorded answer, not a new hold.
		w.Header().Set("Idempotent-Replayed", "true")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/reservations/"+res.ID)
	s.setStockChangeID(ctx, w, res.SKU)
	writeJSON(w, http.StatusCreated, res)
}

func pathReservation(r *http.Request) (string, *apiError) {
	id := r.PathValue("id")
	if _, err := keys.ReservationPartition(id); err != nil {
		return "", &apiError{http.StatusNotFound, "not_found", "no reservation with id " + truncate(id, 64)}
	}
	return id, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func (s *Server) reservationOp(w http.ResponseWriter, r *http.Request, op func(id string) (store.Reservation, error)) {
	if isCartID(r.PathValue("id")) {
		s.cartOp(w, r, op)
		return
	}
	id, ae := pathReservation(r)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	res, err := op(id)
	if errors.Is(err, store.ErrNotFound) {
		err = &apiError{http.StatusNotFound, "not_found", "no reservation with id " + id}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) getReservation(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.opContext(r)
	defer cancel()
	s.reservationOp(w, r, func(id string) (store.Reservation, error) {
		res, err := s.store.GetReservation(ctx, id)
		// A hold past its expiry is over, whether or not the sweep has
		// released it yet: it reads expired at once (the sweep, or a late
		// commit, makes it so in storage).
		if err == nil && res.Status == store.StatusHeld && !s.cfg.Clock.Now().Before(res.ExpiresAt) {
			res.Status = store.StatusExpired
		}
		return res, err
	})
}

func (s *Server) commitReservation(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.opContext(r)
	defer cancel()
	s.reservationOp(w, r, func(id string) (store.Reservation, error) {
		res, err := s.store.CommitReservation(ctx, id, s.cfg.Clock.Now())
		if err == nil {
			s.setStockChangeID(ctx, w, res.SKU)
		}
		return res, err
	})
}

func (s *Server) releaseReservation(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.opContext(r)
	defer cancel()
	s.reservationOp(w, r, func(id string) (store.Reservation, error) {
		res, err := s.store.ReleaseReservation(ctx, id)
		if err == nil {
			s.setStockChangeID(ctx, w, res.SKU)
		}
		return res, err
	})
}

// extendReservation serves POST /v1/reservations/{id}/extend
// {"ttl_seconds":N}: the hold then expires N seconds from now (never
// earlier than it did); 409 when it is not held.
func (s *Server) extendReservation(w http.ResponseWriter, r *http.Request) {
	body, ae := s.readBody(w, r)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	var req struct {
		TTLSeconds *int64 `json:"ttl_seconds"`
	}
	if ae := decodeStrict(body, &req); ae != nil {
		s.writeError(w, r, ae)
		return
	}
	if req.TTLSeconds == nil || *req.TTLSeconds < 1 || *req.TTLSeconds > maxTTLSecs {
		s.writeError(w, r, badRequest("invalid_ttl", "ttl_seconds is required and must be between 1 and 86400"))
		return
	}
	ttl := time.Duration(*req.TTLSeconds) * time.Second
	ctx, cancel := s.opContext(r)
	defer cancel()
	s.reservationOp(w, r, func(id string) (store.Reservation, error) {
		return s.store.ExtendReservation(ctx, id, s.cfg.Clock.Now(), ttl)
	})
}
