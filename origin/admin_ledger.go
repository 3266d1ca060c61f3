package origin

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/ledger"
	"github.com/shortstock/shortstock/origin/store"
)

// actorKey carries the authenticated admin key's id in a request context,
// for the ledger's "actor".
type actorKey struct{}

func withActor(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, actorKey{}, id)
}

// actorOf returns the admin key id requireAdmin put in ctx, or "".
func actorOf(ctx context.Context) string {
	id, _ := ctx.Value(actorKey{}).(string)
	return id
}

// writeHeaders reads If-Match ("V", the SKU's version; W/ and bare numbers
// are accepted too) and Idempotency-Key.
func writeHeaders(r *http.Request) (ifVersion uint64, idemKey string, ae *apiError) {
	if im := strings.TrimSpace(r.Header.Get("If-Match")); im != "" {
		v := strings.Trim(strings.TrimPrefix(im, "W/"), `"`)
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			return 0, "", badRequest("invalid_if_match", `If-Match must be the SKU's version in quotes, e.g. If-Match: "7"`)
		}
		ifVersion = n
	}
	idemKey = r.Header.Get("Idempotency-Key")
	if idemKey != "" && !store.ValidIdempotencyKey(idemKey) {
		return 0, "", badRequest("invalid_idempotency_key", "Idempotency-Key must be 1 to 255 printable ASCII characters")
	}
	return ifVersion, idemKey, nil
}

// transferStock serves POST /v1/stock/{sku}/transfers: one atomic write
// that moves qty of available stock from one warehouse to another.
func (s *Server) transferStock(w http.ResponseWriter, r *http.Request) {
	sku, ae := pathSKU(r)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	sw := store.StockWrite{Op: store.OpTransfer, SKU: sku, Actor: actorOf(r.Context())}
	if sw.IfVersion, sw.IdempotencyKey, ae = writeHeaders(r); ae != nil {
		s.writeError(w, r, ae)
		return
	}
	body, ae := s.readBody(w, r)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	b, ae := decodeTransfer(body)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	sw.Warehouse, sw.To, sw.Qty, sw.Reason, sw.Ref = b.from, b.to, b.qty, b.reason, b.ref
	ctx, cancel := s.opContext(r)
	defer cancel()
	v, err := s.store.WriteStock(ctx, sw)
	if errors.Is(err, store.ErrNotFound) {
		err = &apiError{http.StatusNotFound, "not_found", "no stock of " + sku + " in warehouse " + b.from}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// Every write answers X-Change-Id (shared/API.md), transfers too.
	setChangeID(w, keys.KindStock, sku, v.Version)
	if v.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, http.StatusOK, v)
}

// movementsPage is the answer of GET /v1/stock/{sku}/movements.
type movementsPage struct {
	Movements []store.Movement `json:"movements"`
	Next      *string          `json:"next"`
}

// listMovements serves GET /v1/stock/{sku}/movements.
func (s *Server) listMovements(w http.ResponseWriter, r *http.Request) {
	sku, ae := pathSKU(r)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	q := store.MovementQuery{SKU: sku, Limit: 100}
	v := r.URL.Query()
	if wh := v.Get("warehouse"); wh != "" {
		if !keys.ValidWarehouse(wh) {
			s.writeError(w, r, badRequest("invalid_warehouse", "warehouse must match [A-Za-z0-9][A-Za-z0-9._:-]{0,63}"))
			return
		}
		q.Warehouse = wh
	}
	if a := v.Get("after"); a != "" {
		n, err := strconv.ParseUint(a, 10, 64)
		if err != nil {
			s.writeError(w, r, badRequest("invalid_cursor", "after must be a cursor from an earlier page"))
			return
		}
		q.After = n
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > store.MaxMovementsLimit {
			s.writeError(w, r, badRequest("invalid_limit", "limit must be between 1 and 1000"))
			return
		}
		q.Limit = n
	}
	ctx, cancel := s.opContext(r)
	defer cancel()
	page, err := s.store.Movements(ctx, q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := movementsPage{Movements: page.Movements}
	if out.Movements == nil {
		out.Movements = []store.Movement{}
	}
	if page.Next != 0 {
		c := strconv.FormatUint(page.Next, 10)
		out.Next = &c
	}
	writeJSON(w, http.StatusOK, out)
}

// maxReplayMovements bounds how much ledger one time-travel read replays.
const maxReplayMovements = 1_000_000

// stockAt answers GET /v1/stock/{sku}?at=T: the ledger replayed up to and
// including the last movement at or before T.
func (s *Server) stockAt(ctx context.Context, w http.ResponseWriter, r *http.Request, sku, atStr string) {
	at, err := time.Parse(time.RFC3339Nano, atStr)
	if err != nil {
		s.writeError(w, r, badRequest("invalid_at", "at must be an RFC 3339 time, e.g. 2026-01-02T15:04:05Z"))
		return
	}
	var moves []store.Movement
	var after uint64
	done := false
	for !done && len(moves) < maxReplayMovements {
		page, err := s.store.Movements(ctx, store.MovementQuery{SKU: sku, After: after, Limit: store.MaxMovementsLimit})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for _, m := range page.Movements {
			if m.At.After(at) {
				if m.Kind == store.KindOpening {
					// Openings come first: a warehouse's balance before
					// this one was trimmed, so the view at T is unknown.
					s.writeError(w, r, badRequest("at_before_first_movement",
						"at is before the retained ledger of "+sku+": ledger retention trimmed the movements before "+m.At.Format(time.RFC3339Nano)))
					return
				}
				done = true
				break
			}
			moves = append(moves, m)
		}
		if page.Next == 0 {
			break
		}
		after = page.Next
	}
	if len(moves) == 0 {
		first, err := s.store.Movements(ctx, store.MovementQuery{SKU: sku, Limit: 1})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if len(first.Movements) == 0 {
			s.writeError(w, r, &apiError{http.StatusNotFound, "not_found", "no stock for sku " + sku})
			return
		}
		s.writeError(w, r, badRequest("at_before_first_movement",
			"at is before the first movement of "+sku+" ("+first.Movements[0].At.Format(time.RFC3339Nano)+")"))
		return
	}
	// A transfer's two movements share a version: never cut between them.
	for len(moves) > 0 && done {
		last := moves[len(moves)-1]
		page, err := s.store.Movements(ctx, store.MovementQuery{SKU: sku, After: last.Seq, Limit: 1})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if len(page.Movements) == 0 || page.Movements[0].Version != last.Version {
			break
		}
		moves = append(moves, page.Movements[0])
	}
	v, err := store.Replay(sku, moves)
	if err != nil {
		s.log.Error("ledger does not replay", "sku", sku, "err", err)
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// verifyAnswer is the answer of GET /v1/ledger/verify.
type verifyAnswer struct {
	Checked     int           `json:"checked"`
	Differences []ledger.Diff `json:"differences"`
}

// verifyLedger serves GET /v1/ledger/verify[?sku=]: every SKU's view (or
// one's) replayed from its ledger and compared; differences listed.
func (s *Server) verifyLedger(w http.ResponseWriter, r *http.Request) {
	ans := verifyAnswer{Differences: []ledger.Diff{}}
	add := func(d ledger.Diff) { ans.Differences = append(ans.Differences, d) }
	// A whole-store verify reads everything: give it more than one
	// request's usual budget, bounded by the client staying connected.
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Minute)
	defer cancel()
	var err error
	if sku := r.URL.Query().Get("sku"); sku != "" {
		if !keys.ValidSKU(sku) {
			s.writeError(w, r, badRequest("invalid_sku", "sku must match [A-Za-z0-9][A-Za-z0-9._:-]{0,63}"))
			return
		}
		var d *ledger.Diff
		if d, err = ledger.CheckSKU(ctx, s.store, sku); d != nil {
			add(*d)
		}
		ans.Checked = 1
	} else {
		ans.Checked, err = ledger.Verify(ctx, s.store, add)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

// rebuildStock serves POST /v1/stock/{sku}/rebuild: the SKU's view
// rebuilt online from its ledger (a compare-and-set on its last movement:
// other SKUs, and writes to this one, carry on).
func (s *Server) rebuildStock(w http.ResponseWriter, r *http.Request) {
	sku, ae := pathSKU(r)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	ctx, cancel := s.opContext(r)
	defer cancel()
	wrote, err := ledger.RebuildSKU(ctx, s.store, sku)
	if errors.Is(err, ledger.ErrLedger) {
		err = &apiError{http.StatusConflict, "ledger_damaged", err.Error()}
	}
	if err != nil {
		s.writeError(w, r, err)
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
	writeJSON(w, http.StatusOK, map[string]any{"sku": sku, "rebuilt": wrote, "view": v})
}
