package origin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// Bounds on numbers in requests: far above any real stock, far below where
// sums could overflow int64.
const (
	MaxQuantity = 1 << 40
	maxTTLSecs  = int64(store.MaxReservationTTL / time.Second)
)

// decodeStrict decodes exactly one JSON object into v, refusing unknown
// fields (a typo like "expire_at" must not be silently ignored), trailing
// data, invalid UTF-8, and what checkJSONShape refuses: duplicate keys,
// field names in the wrong case, lone surrogates.
func decodeStrict(body []byte, v any) *apiError {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return badRequest("invalid_json", "request body is empty; a JSON object is required")
	}
	if trimmed[0] != '{' {
		return badRequest("invalid_json", "request body must be a JSON object")
	}
	if !utf8.Valid(body) {
		return badRequest("invalid_json", "request body is not valid UTF-8")
	}
	if err := checkJSONShape(body, jsonFields(v)); err != nil {
		return badRequest("invalid_json", "request body is not valid JSON for this endpoint: "+err.Error())
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return badRequest("invalid_json", fmt.Sprintf("field %q has the wrong type", te.Field))
		}
		return badRequest("invalid_json", "request body is not valid JSON for this endpoint: "+err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("invalid_json", "request body has data after the JSON object")
	}
	return nil
}

// createLinkRequest is the body of POST /v1/links.
type createLinkRequest struct {
	URL       *string `json:"url"`
	Code      *string `json:"code"`
	Redirect  *int    `json:"redirect"`
	ExpiresAt *string `json:"expires_at"`
	extrasJSON
}

// decodeCreateLink validates a create body. The code is empty when the
// caller asked for a generated one.
func decodeCreateLink(body []byte, now time.Time) (store.NewLink, *apiError) {
	var req createLinkRequest
	if ae := decodeStrict(body, &req); ae != nil {
		return store.NewLink{}, ae
	}
	l := store.NewLink{Redirect: 302, CreatedAt: now.UTC().Truncate(time.Millisecond)}
	if req.URL == nil {
		return l, badRequest("invalid_url", "url is required")
	}
	if ok, why := store.ValidateURL(*req.URL); !ok {
		return l, badRequest("invalid_url", why)
	}
	l.URL = *req.URL
	if req.Code != nil {
		if !keys.ValidCode(*req.Code) {
			return l, badRequest("invalid_code", "code must match [A-Za-z0-9][A-Za-z0-9_-]{0,63}")
		}
		l.Code = *req.Code
	}
	if req.Redirect != nil {
		if !store.ValidRedirect(*req.Redirect) {
			return l, badRequest("invalid_redirect", "redirect must be 301, 302, 307 or 308")
		}
		l.Redirect = *req.Redirect
	}
	if req.ExpiresAt != nil {
		t, ae := parseExpiry(*req.ExpiresAt, now)
		if ae != nil {
			return l, ae
		}
		l.ExpiresAt = &t
	}
	p, ae := decodeExtras(req.extrasJSON)
	if ae != nil {
		return l, ae
	}
	if p.ClearMaxVisits {
		return l, badRequest("invalid_max_visits", "max_visits must be an integer of at least 1 (leave it out for no limit)")
	}
	p.ApplyExtras(&l.LinkExtras)
	if ae := checkWindow(l.ValidSince, l.ExpiresAt); ae != nil {
		return l, ae
	}
	return l, nil
}

func parseExpiry(s string, now time.Time) (time.Time, *apiError) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return t, badRequest("invalid_expires_at", "expires_at must be an RFC3339 time such as 2030-01-02T15:04:05Z")
	}
	if !t.After(now) {
		return t, badRequest("invalid_expires_at", "expires_at must be in the future")
	}
	if t.Year() > 9999 {
		return t, badRequest("invalid_expires_at", "expires_at is too far in the future")
	}
	return t.UTC().Truncate(time.Millisecond), nil
}

// decodePatchLink validates a PATCH body; "expires_at": null clears expiry.
func decodePatchLink(body []byte, now time.Time) (store.LinkPatch, *apiError) {
	var raw struct {
		URL       *string         `json:"url"`
		Redirect  *int            `json:"redirect"`
		ExpiresAt json.RawMessage `json:"expires_at"`
		extrasJSON
	}
	var p store.LinkPatch
	if ae := decodeStrict(body, &raw); ae != nil {
		return p, ae
	}
	if raw.URL == nil && raw.Redirect == nil && raw.ExpiresAt == nil && !raw.extrasJSON.any() {
		return p, badRequest("invalid_json", "give at least one of url, redirect, expires_at, tags, title, max_visits, valid_since, forward_query, targets")
	}
	p, ae := decodeExtras(raw.extrasJSON)
	if ae != nil {
		return p, ae
	}
	if raw.URL != nil {
		if ok, why := store.ValidateURL(*raw.URL); !ok {
			return p, badRequest("invalid_url", why)
		}
		p.URL = raw.URL
	}
	if raw.Redirect != nil {
		if !store.ValidRedirect(*raw.Redirect) {
			return p, badRequest("invalid_redirect", "redirect must be 301, 302, 307 or 308")
		}
		p.Redirect = raw.Redirect
	}
	if raw.ExpiresAt != nil {
		if string(raw.ExpiresAt) == "null" {
			p.ClearExpiry = true
		} else {
			var s string
			if err := json.Unmarshal(raw.ExpiresAt, &s); err != nil {
				return p, badRequest("invalid_expires_at", "expires_at must be an RFC3339 string or null")
			}
			t, ae := parseExpiry(s, now)
			if ae != nil {
				return p, ae
			}
			p.ExpiresAt = &t
		}
	}
	if ae := checkWindow(p.ValidSince, p.ExpiresAt); ae != nil {
		return p, ae
	}
	return p, nil
}

// stockBody is what a set or adjust body says: the quantity (on_hand or
// delta) and the ledger's reason and ref.
type stockBody struct {
	qty         int64
	reason, ref string
}

// checkReasonRef validates the ledger fields every stock write shares.
func checkReasonRef(reason, ref *string, b *stockBody) *apiError {
	if reason != nil {
		if *reason == "" || !store.ValidReason(*reason) {
			return badRequest("invalid_reason", "reason must be one of received, sold, returned, damaged, lost, cycle_count, correction, transfer")
		}
		b.reason = *reason
	}
	if ref != nil {
		if len(*ref) > store.MaxRefLen {
			return badRequest("invalid_ref", fmt.Sprintf("ref must be at most %d bytes", store.MaxRefLen))
		}
		b.ref = *ref
	}
	return nil
}

// decodeSetStock validates PUT /v1/stock/{sku}/{warehouse}.
func decodeSetStock(body []byte) (stockBody, *apiError) {
	var req struct {
		OnHand *int64  `json:"on_hand"`
		Reason *string `json:"reason"`
		Ref    *string `json:"ref"`
	}
	var b stockBody
	if ae := decodeStrict(body, &req); ae != nil {
		return b, ae
	}
	if req.OnHand == nil {
		return b, badRequest("invalid_quantity", "on_hand is required")
	}
	if *req.OnHand < 0 || *req.OnHand > MaxQuantity {
		return b, badRequest("invalid_quantity", fmt.Sprintf("on_hand must be between 0 and %d", int64(MaxQuantity)))
	}
	b.qty = *req.OnHand
	return b, checkReasonRef(req.Reason, req.Ref, &b)
}

// decodeAdjust validates POST .../adjust.
func decodeAdjust(body []byte) (stockBody, *apiError) {
	var req struct {
		Delta  *int64  `json:"delta"`
		Reason *string `json:"reason"`
		Ref    *string `json:"ref"`
	}
	var b stockBody
	if ae := decodeStrict(body, &req); ae != nil {
		return b, ae
	}
	if req.Delta == nil {
		return b, badRequest("invalid_quantity", "delta is required")
	}
	if *req.Delta == 0 || *req.Delta > MaxQuantity || *req.Delta < -MaxQuantity {
		return b, badRequest("invalid_quantity", fmt.Sprintf("delta must be non-zero and between -%d and %d", int64(MaxQuantity), int64(MaxQuantity)))
	}
	b.qty = *req.Delta
	return b, checkReasonRef(req.Reason, req.Ref, &b)
}

// transferBody is a decoded POST /v1/stock/{sku}/transfers.
type transferBody struct {
	from, to string
	stockBody
}

// decodeTransfer validates POST /v1/stock/{sku}/transfers.
func decodeTransfer(body []byte) (transferBody, *apiError) {
	var req struct {
		From   *string `json:"from"`
		To     *string `json:"to"`
		Qty    *int64  `json:"qty"`
		Reason *string `json:"reason"`
		Ref    *string `json:"ref"`
	}
	var b transferBody
	if ae := decodeStrict(body, &req); ae != nil {
		return b, ae
	}
	if req.From == nil || req.To == nil || !keys.ValidWarehouse(*req.From) || !keys.ValidWarehouse(*req.To) {
		return b, badRequest("invalid_warehouse", "from and to are required warehouses matching [A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
	}
	if *req.From == *req.To {
		return b, badRequest("invalid_warehouse", "from and to must differ")
	}
	if req.Qty == nil || *req.Qty < 1 || *req.Qty > MaxQuantity {
		return b, badRequest("invalid_quantity", fmt.Sprintf("qty is required and must be between 1 and %d", int64(MaxQuantity)))
	}
	b.from, b.to, b.qty = *req.From, *req.To, *req.Qty
	b.reason = "transfer"
	return b, checkReasonRef(req.Reason, req.Ref, &b.stockBody)
}

// reserveRequest is the body of POST /v1/reservations.
type reserveRequest struct {
	SKU        *string `json:"sku"`
	Qty        *int64  `json:"qty"`
	Warehouse  *string `json:"warehouse"`
	TTLSeconds *int64  `json:"ttl_seconds"`
	Lines      []struct {
		SKU       *string `json:"sku"`
		Qty       *int64  `json:"qty"`
		Warehouse *string `json:"warehouse"`
	} `json:"lines"`
}

// MaxCartLines bounds the lines of one cart (its ID names every line).
const MaxCartLines = 25

// decodeReservation validates POST /v1/reservations: a single reservation,
// or a cart (lines non-nil, in request order, each with the cart's TTL).
func decodeReservation(body []byte) (single store.ReserveRequest, lines []store.ReserveRequest, ae *apiError) {
	var req reserveRequest
	if ae := decodeStrict(body, &req); ae != nil {
		return single, nil, ae
	}
	if req.Lines == nil {
		single, ae = decodeReserve(body)
		return single, nil, ae
	}
	if req.SKU != nil || req.Qty != nil || req.Warehouse != nil {
		return single, nil, badRequest("invalid_cart", "a cart gives sku, qty and warehouse per line, not at the top")
	}
	if len(req.Lines) == 0 || len(req.Lines) > MaxCartLines {
		return single, nil, badRequest("invalid_cart", fmt.Sprintf("lines must hold 1 to %d lines", MaxCartLines))
	}
	ttl := store.DefaultReservationTTL
	if req.TTLSeconds != nil {
		if *req.TTLSeconds < 1 || *req.TTLSeconds > maxTTLSecs {
			return single, nil, badRequest("invalid_ttl", fmt.Sprintf("ttl_seconds must be between 1 and %d", maxTTLSecs))
		}
		ttl = time.Duration(*req.TTLSeconds) * time.Second
	}
	for i, l := range req.Lines {
		if l.SKU == nil || !keys.ValidSKU(*l.SKU) {
			return single, nil, badRequest("invalid_sku", fmt.Sprintf("line %d: sku is required and must match [A-Za-z0-9][A-Za-z0-9._:-]{0,63}", i+1))
		}
		if l.Qty == nil || *l.Qty < 1 || *l.Qty > MaxQuantity {
			return single, nil, badRequest("invalid_quantity", fmt.Sprintf("line %d: qty is required and must be between 1 and %d", i+1, int64(MaxQuantity)))
		}
		r := store.ReserveRequest{SKU: *l.SKU, Qty: *l.Qty, TTL: ttl}
		if l.Warehouse != nil {
			if !keys.ValidWarehouse(*l.Warehouse) {
				return single, nil, badRequest("invalid_warehouse", fmt.Sprintf("line %d: warehouse must match [A-Za-z0-9][A-Za-z0-9._:-]{0,63}", i+1))
			}
			r.Warehouse = *l.Warehouse
		}
		lines = append(lines, r)
	}
	return single, lines, nil
}

// decodeReserve validates a reservation body (ID and time are set by the
// caller).
func decodeReserve(body []byte) (store.ReserveRequest, *apiError) {
	var req reserveRequest
	r := store.ReserveRequest{TTL: store.DefaultReservationTTL}
	if ae := decodeStrict(body, &req); ae != nil {
		return r, ae
	}
	if req.Lines != nil {
		return r, badRequest("invalid_cart", "lines make a cart, decoded by decodeReservation")
	}
	if req.SKU == nil || !keys.ValidSKU(*req.SKU) {
		return r, badRequest("invalid_sku", "sku is required and must match [A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
	}
	r.SKU = *req.SKU
	if req.Qty == nil || *req.Qty < 1 || *req.Qty > MaxQuantity {
		return r, badRequest("invalid_quantity", fmt.Sprintf("qty is required and must be between 1 and %d", int64(MaxQuantity)))
	}
	r.Qty = *req.Qty
	if req.Warehouse != nil {
		if !keys.ValidWarehouse(*req.Warehouse) {
			return r, badRequest("invalid_warehouse", "warehouse must match [A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
		}
		r.Warehouse = *req.Warehouse
	}
	if req.TTLSeconds != nil {
		if *req.TTLSeconds < 1 || *req.TTLSeconds > maxTTLSecs {
			return r, badRequest("invalid_ttl", fmt.Sprintf("ttl_seconds must be between 1 and %d", maxTTLSecs))
		}
		r.TTL = time.Duration(*req.TTLSeconds) * time.Second
	}
	return r, nil
}
