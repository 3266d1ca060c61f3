package origin

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// bulkLine is one line of a POST /v1/stock:bulk body. set takes on_hand,
// adjust delta, transfer qty from warehouse (or "from") to "to"; every op
// takes reason and ref as the synchronous endpoints do.
type bulkLine struct {
	Op        *string `json:"op"`
	SKU       *string `json:"sku"`
	Warehouse *string `json:"warehouse"`
	From      *string `json:"from"`
	To        *string `json:"to"`
	OnHand    *int64  `json:"on_hand"`
	Delta     *int64  `json:"delta"`
	Qty       *int64  `json:"qty"`
	Reason    *string `json:"reason"`
	Ref       *string `json:"ref"`
}

// bulkParse is a parsed bulk body: every non-blank line counts; those that
// parse are jobs lines, the others failures with their line numbers.
type bulkParse struct {
	lines  int64
	valid  []store.JobLine
	failed int64
	errs   []store.JobError
}

// errTooManyLines: a body over store.MaxJobLines (413, nothing queued).
var errTooManyLines = &apiError{Status: 413, Code: "too_many_lines", Message: fmt.Sprintf("a bulk body holds at most %d lines", store.MaxJobLines)}

// parseBulk splits an NDJSON body into lines (numbered from 1, blank lines
// skipped but counted in the numbering, a final "\r" dropped) and checks
// each one alone: a bad line is reported with its number and the others
// still go through. Only a body over the line cap fails as a whole.
func parseBulk(body []byte) (bulkParse, *apiError) {
	var p bulkParse
	n := int64(0)
	for len(body) > 0 {
		var line []byte
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			line, body = body, nil
		}
		n++
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		p.lines++
		if p.lines > store.MaxJobLines {
			return bulkParse{}, errTooManyLines
		}
		jl, ae := decodeBulkLine(line)
		if ae != nil {
			p.failed++
			if len(p.errs) < store.MaxJobErrors {
				p.errs = append(p.errs, store.JobError{Line: n, Error: ae.Code, Message: ae.Message})
			}
			continue
		}
		jl.Line = n
		p.valid = append(p.valid, jl)
	}
	return p, nil
}

// decodeBulkLine checks one line as strictly as the synchronous endpoint
// for its op checks its body.
func decodeBulkLine(line []byte) (store.JobLine, *apiError) {
	var jl store.JobLine
	req, ok := fastBulkLine(line)
	if !ok {
		if ae := decodeStrict(line, &req); ae != nil {
			return jl, ae
		}
	}
	if req.Op == nil {
		return jl, badRequest("invalid_op", "op is required: set, adjust or transfer")
	}
	if req.SKU == nil || !keys.ValidSKU(*req.SKU) {
		return jl, badRequest("invalid_sku", "sku must match [A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
	}
	wh := req.Warehouse
	if req.From != nil {
		if wh != nil {
			return jl, badRequest("invalid_warehouse", "give warehouse or from, not both")
		}
		wh = req.From
	}
	if wh == nil || !keys.ValidWarehouse(*wh) {
		return jl, badRequest("invalid_warehouse", "warehouse must match [A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
	}
	jl.Op, jl.SKU, jl.Warehouse = *req.Op, *req.SKU, *wh
	var b stockBody
	if ae := checkReasonRef(req.Reason, req.Ref, &b); ae != nil {
		return jl, ae
	}
	jl.Reason, jl.Ref = b.reason, b.ref
	only := func(field string, set bool) *apiError {
		if !set {
			return nil
		}
		return badRequest("invalid_json", field+" does not apply to op "+strconv.Quote(jl.Op))
	}
	var ae *apiError
	switch jl.Op {
	case store.OpSet:
		for _, e := range []*apiError{only("delta", req.Delta != nil), only("qty", req.Qty != nil), only("to", req.To != nil), only("from", req.From != nil)} {
			ae = cmpAE(ae, e)
		}
		if ae == nil && (req.OnHand == nil || *req.OnHand < 0 || *req.OnHand > MaxQuantity) {
			ae = badRequest("invalid_quantity", fmt.Sprintf("on_hand is required, between 0 and %d", int64(MaxQuantity)))
		}
		if ae == nil {
			jl.Qty = *req.OnHand
		}
	case store.OpAdjust:
		for _, e := range []*apiError{only("on_hand", req.OnHand != nil), only("qty", req.Qty != nil), only("to", req.To != nil), only("from", req.From != nil)} {
			ae = cmpAE(ae, e)
		}
		if ae == nil && (req.Delta == nil || *req.Delta == 0 || *req.Delta > MaxQuantity || *req.Delta < -MaxQuantity) {
			ae = badRequest("invalid_quantity", fmt.Sprintf("delta is required, non-zero and between -%d and %d", int64(MaxQuantity), int64(MaxQuantity)))
		}
		if ae == nil {
			jl.Qty = *req.Delta
		}
	case store.OpTransfer:
		for _, e := range []*apiError{only("on_hand", req.OnHand != nil), only("delta", req.Delta != nil)} {
			ae = cmpAE(ae, e)
		}
		switch {
		case ae != nil:
		case req.To == nil || !keys.ValidWarehouse(*req.To) || *req.To == jl.Warehouse:
			ae = badRequest("invalid_warehouse", "to must be another valid warehouse")
		case req.Qty == nil || *req.Qty <= 0 || *req.Qty > MaxQuantity:
			ae = badRequest("invalid_quantity", fmt.Sprintf("qty is required, between 1 and %d", int64(MaxQuantity)))
		default:
			jl.To, jl.Qty = *req.To, *req.Qty
		}
	default:
		ae = badRequest("invalid_op", "op must be set, adjust or transfer")
	}
	return jl, ae
}

func cmpAE(a, b *apiError) *apiError {
	if a != nil {
		return a
	}
	return b
}
