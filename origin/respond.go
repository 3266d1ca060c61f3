package origin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/shortstock/shortstock/origin/store"
)

// apiError is an admin API failure: a status, a machine code and a sentence.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"error"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func badRequest(code, msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: code, Message: msg}
}

// toAPIError maps store sentinels to statuses and machine codes. Anything
// unknown is a 500 whose detail stays in the log, not in the answer.
func toAPIError(err error) *apiError {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, store.ErrNotFound):
		return &apiError{http.StatusNotFound, "not_found", "no such resource"}
	case errors.Is(err, store.ErrCodeTaken):
		return &apiError{http.StatusConflict, "code_taken", "that code is already in use"}
	case errors.Is(err, store.ErrInsufficientStock):
		return &apiError{http.StatusConflict, "insufficient_stock", "not enough stock available"}
	case errors.Is(err, store.ErrBelowReserved):
		return &apiError{http.StatusConflict, "below_reserved", "on_hand cannot be set below what is reserved in that warehouse"}
	case errors.Is(err, store.ErrNotHeld):
		return &apiError{http.StatusConflict, "reservation_not_held", "the reservation is not held"}
	case errors.Is(err, store.ErrReservationExpired):
		return &apiError{http.StatusConflict, "reservation_expired", "the reservation expired before it was committed"}
	case errors.Is(err, store.ErrIdempotencyMismatch):
		return &apiError{http.StatusConflict, "idempotency_key_reused", "this Idempotency-Key was used for a different request"}
	case errors.Is(err, store.ErrVersionMismatch):
		return &apiError{http.StatusPreconditionFailed, "version_mismatch", "the SKU's version is not the one in If-Match; read it again"}
	case errors.Is(err, store.ErrInvalidReason):
		return &apiError{http.StatusBadRequest, "invalid_reason", "reason must be one of received, sold, returned, damaged, lost, cycle_count, correction, transfer"}
	case errors.Is(err, store.ErrInvalid):
		return &apiError{http.StatusBadRequest, "invalid_request", err.Error()}
	case errors.Is(err, store.ErrOutcomeUnknown):
		return &apiError{http.StatusServiceUnavailable, "outcome_unknown", "the write may or may not have been applied (it was not confirmed durable in time); retry with the same Idempotency-Key"}
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, store.ErrClosed),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return &apiError{http.StatusServiceUnavailable, "storage_unavailable", "storage is unavailable; nothing was changed, retry later"}
	default:
		return &apiError{http.StatusInternalServerError, "internal", "internal error"}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal","message":"encoding failed"}`)
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := toAPIError(err)
	if ae.Status >= 500 {
		s.log.Warn("request failed", "method", r.Method, "path", r.URL.Path, "status", ae.Status, "err", err)
	}
	writeJSON(w, ae.Status, ae)
}
