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
	sku, wh, ae := pathSKUWarehouse(r)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	body, ae := s.readBody(w, r)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	onHand, ae := decodeSetStock(body)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	ctx, cancel := s.opContext(r)
	defer cancel()
	v, err := s.store.SetStock(ctx, sku, wh, onHand)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setChangeID(w, keys.KindStock, sku, v.Version)
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) adjustStock(w http.ResponseWriter, r *http.Request) {
	sku, wh, ae := pathSKUWarehouse(r)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	body, ae := s.readBody(w, r)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	delta, ae := decodeAdjust(body)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	ctx, cancel := s.opContext(r)
	defer cancel()
	v, err := s.store.AdjustStock(ctx, sku, wh, delta)
	if errors.Is(err, store.ErrNotFound) {
		err = &apiError{http.StatusNotFound, "not_found", "no stock of " + sku + " in warehouse " + wh}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setChangeID(w, keys.KindStock, sku, v.Version)
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
	v, err := s.adminGetStock(ctx, sku)
	if errors.Is(err, store.ErrNotFound) {
		err = &apiError{http.StatusNotFound, "not_found", "no stock for sku " + sku}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}
