package origin

import (
	"errors"
	"net/http"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

func pathSKU(r *http.Request) (string, *apiError) {
	sku := r.PathValue("sku")
	if !keys.ValidSKU(sku) {
		return "", badRequest("invalid_sku", "sku must match [A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
	}
	return sku, nil
}

func pathSKUWarehouse(r *http.Request) (string, string, *apiError) {
	sku, ae := pathSKU(r)
	if ae != nil {
		return "", "", ae
	}
	wh := r.PathValue("warehouse")
	if !keys.ValidWarehouse(wh) {
		return "", "", badRequest("invalid_warehouse", "warehouse must match [A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
	}
	return sku, wh, nil
}

func (s *Server) setStock(w http.ResponseWriter, r *http.Request) {
	s.stockWrite(w, r, store.OpSet)
}

func (s *Server) adjustStock(w http.ResponseWriter, r *http.Request) {
	s.stockWrite(w, r, store.OpAdjust)
}

// stockWrite serves set and adjust: body, If-Match, Idempotency-Key, and
// the actor (the admin key's id) go into one store.StockWrite, so the
// movement the store appends says who did what and why.
func (s *Server) stockWrite(w http.ResponseWriter, r *http.Request, op string) {
	sku, wh, ae := pathSKUWarehouse(r)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	sw := store.StockWrite{Op: op, SKU: sku, Warehouse: wh, Actor: actorOf(r.Context())}
	if sw.IfVersion, sw.IdempotencyKey, ae = writeHeaders(r); ae != nil {
		s.writeError(w, r, ae)
		return
	}
	body, ae := s.readBody(w, r)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	var b stockBody
	if op == store.OpSet {
		b, ae = decodeSetStock(body)
	} else {
		b, ae = decodeAdjust(body)
	}
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	sw.Qty, sw.Reason, sw.Ref = b.qty, b.reason, b.ref
	ctx, cancel := s.opContext(r)
	defer cancel()
	v, err := s.store.WriteStock(ctx, sw)
	if errors.Is(err, store.ErrNotFound) {
		err = &apiError{http.StatusNotFound, "not_found", "no stock of " + sku + " in warehouse " + wh}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setChangeID(w, keys.KindStock, sku, v.Version)
	if v.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) getStock(w http.ResponseWriter, r *http.Request) {
	sku, ae := pathSKU(r)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	ctx, cancel := s.opContext(r)
	defer cancel()
	if at := r.URL.Query().Get("at"); at != "" {
		s.stockAt(ctx, w, r, sku, at)
		return
	}
	v, err := s.adminGetStock(ctx, sku)
	if errors.Is(err, store.ErrNotFound) {
		err = &apiError{http.StatusNotFound, "not_found", "no stock for sku " + sku}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if v.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, http.StatusOK, v)
}
