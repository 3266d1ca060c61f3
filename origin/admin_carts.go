package origin

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// A cart is several holds, all or nothing. Its lines are in different
// partitions, which no single atomic step spans, so:
//
//   - the holds are taken one by one in a fixed order (SKU, then warehouse,
//     then line number), each an ordinary Reserve (atomic, never oversells)
//     with the cart's TTL and, when the request has an Idempotency-Key, a
//     per-line key derived from it, so a retried cart replays its lines;
//   - when a line cannot be held, the holds already taken are released
//     (compensation) before the answer, and the answer is the failure;
//   - if the origin dies in the middle (or a release fails), the holds it
//     took are ordinary holds with the cart's TTL: the sweep ends them by
//     their expiry at the latest, and no client ever got the cart's ID.
//
// The cart's durable state is exactly its line holds; its ID names them
// ("c_" and the line reservation IDs joined by "."), so reading, committing,
// releasing or extending a cart acts on each line. All lines share one
// expires_at (same request time and TTL), so a commit decides "in time" the
// same way for every line.

// cartPrefix starts every cart ID.
const cartPrefix = "c_"

// cartView is a cart as the API shows it: a reservation with lines.
type cartView struct {
	ID        string              `json:"id"`
	Status    string              `json:"status"`
	ExpiresAt time.Time           `json:"expires_at"`
	CreatedAt time.Time           `json:"created_at"`
	Lines     []store.Reservation `json:"lines"`
}

func isCartID(id string) bool { return strings.HasPrefix(id, cartPrefix) }

// cartLines splits a cart ID into its line reservation IDs.
func cartLines(id string) ([]string, bool) {
	ids := strings.Split(strings.TrimPrefix(id, cartPrefix), ".")
	if len(ids) == 0 || len(ids) > MaxCartLines {
		return nil, false
	}
	for _, l := range ids {
		if _, err := keys.ReservationPartition(l); err != nil {
			return nil, false
		}
	}
	return ids, true
}

func (s *Server) createCart(w http.ResponseWriter, r *http.Request, lines []store.ReserveRequest, idemKey string) {
	now := s.cfg.Clock.Now().UTC().Truncate(time.Millisecond)
	order := make([]int, len(lines))
	for i := range order {
		order[i] = i
		lines[i].Now = now
		lines[i].Actor = actorOf(r.Context())
		lines[i].ID = keys.NewReservationID(s.space.Partition(keys.KindStock, lines[i].SKU))
		if idemKey != "" {
			lines[i].IdempotencyKey = idemKey + "#" + strconv.Itoa(i+1)
		}
	}
	sort.SliceStable(order, func(a, b int) bool {
		la, lb := lines[order[a]], lines[order[b]]
		if la.SKU != lb.SKU {
			return la.SKU < lb.SKU
		}
		return la.Warehouse < lb.Warehouse
	})
	ctx, cancel := s.opContext(r)
	defer cancel()
	held := make([]store.Reservation, len(lines))
	var taken []int
	replayed := true
	var fail error
	for _, i := range order {
		res, err := s.store.Reserve(ctx, lines[i])
		if err == nil && res.Status != store.StatusHeld {
			// A replayed line of an earlier attempt that was compensated.
			err = &apiError{http.StatusConflict, "insufficient_stock", "line " + strconv.Itoa(i+1) + " of this cart could not be held"}
		}
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				err = &apiError{http.StatusNotFound, "not_found", "line " + strconv.Itoa(i+1) + ": no stock for sku " + lines[i].SKU}
			}
			fail = err
			break
		}
		replayed = replayed && res.Replayed
		held[i] = res
		if !res.Replayed {
			// A replayed line is an earlier cart's hold: undoing this
			// cart must not release it.
			taken = append(taken, i)
		}
	}
	if fail != nil {
		// Compensate: release what this attempt holds. A release that fails
		// leaves an ordinary hold that expires by its TTL.
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer ccancel()
		for _, i := range taken {
			if _, err := s.store.ReleaseReservation(cctx, held[i].ID); err != nil {
				s.log.Warn("cart: a compensating release failed; the hold ends at its expiry", "reservation", held[i].ID, "err", err)
			}
		}
		s.writeError(w, r, fail)
		return
	}
	ids := make([]string, len(held))
	for i, h := range held {
		ids[i] = h.ID
	}
	v := cartOf(cartPrefix+strings.Join(ids, "."), held, s.cfg.Clock.Now())
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Location", "/v1/reservations/"+v.ID)
	writeJSON(w, http.StatusCreated, v)
}

// cartOf sums a cart up: all lines alike give their status; otherwise the
// first line that is not held gives it. A held line past its expiry reads
// expired.
func cartOf(id string, lines []store.Reservation, now time.Time) cartView {
	v := cartView{ID: id, Lines: lines, Status: store.StatusHeld}
	for i := range lines {
		if lines[i].Status == store.StatusHeld && !now.Before(lines[i].ExpiresAt) {
			lines[i].Status = store.StatusExpired
		}
		if lines[i].ExpiresAt.After(v.ExpiresAt) {
			v.ExpiresAt = lines[i].ExpiresAt
		}
		if i == 0 || lines[i].CreatedAt.Before(v.CreatedAt) {
			v.CreatedAt = lines[i].CreatedAt
		}
	}
	for _, l := range lines {
		if l.Status != store.StatusHeld {
			v.Status = l.Status
			break
		}
	}
	return v
}

// cartOp runs a reservation operation on every line of a cart, in line
// order, and answers the cart. For a commit, every line must be held and in
// time first, so a cart is sold whole or not at all.
func (s *Server) cartOp(w http.ResponseWriter, r *http.Request, op func(id string) (store.Reservation, error)) {
	id := r.PathValue("id")
	ids, ok := cartLines(id)
	if !ok {
		s.writeError(w, r, &apiError{http.StatusNotFound, "not_found", "no reservation with id " + truncate(id, 64)})
		return
	}
	ctx, cancel := s.opContext(r)
	defer cancel()
	commit := strings.HasSuffix(r.URL.Path, "/commit")
	if commit {
		now := s.cfg.Clock.Now()
		for _, l := range ids {
			res, err := s.store.GetReservation(ctx, l)
			if errors.Is(err, store.ErrNotFound) {
				err = &apiError{http.StatusNotFound, "not_found", "no reservation with id " + truncate(id, 64)}
			}
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			switch {
			case res.Status == store.StatusCommitted:
			case res.Status != store.StatusHeld:
				s.writeError(w, r, store.ErrNotHeld)
				return
			case !now.Before(res.ExpiresAt):
				s.writeError(w, r, store.ErrReservationExpired)
				return
			}
		}
	}
	lines := make([]store.Reservation, len(ids))
	var firstErr error
	for i, l := range ids {
		res, err := op(l)
		if errors.Is(err, store.ErrNotFound) {
			err = &apiError{http.StatusNotFound, "not_found", "no reservation with id " + truncate(id, 64)}
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
		lines[i] = res
	}
	if firstErr != nil {
		s.writeError(w, r, firstErr)
		return
	}
	writeJSON(w, http.StatusOK, cartOf(id, lines, s.cfg.Clock.Now()))
}
