package embedded

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shortstock/shortstock/origin/store"
)

// getRes reads a reservation from a reservations bucket; nil when there
// is none.
func getRes(res *bolt.Bucket, id string) (*resRec, error) {
	v := res.Get([]byte(id))
	if v == nil {
		return nil, nil
	}
	r, err := decodeRes(v)
	if err != nil {
		return nil, fmt.Errorf("reservation %q: %w", id, err)
	}
	return &r, nil
}

// finishHold ends a held reservation with status (committed, released or
// expired): the quantity leaves reserved (and, when sold, on_hand too), the
// hold leaves the expiry index and enters the retention index, and the
// SKU's version and change log move on, all in the caller's transaction.
func (s *Store) finishHold(pt *part, id string, r *resRec, status byte) error {
	st, err := getStock(pt.stock, r.sku)
	if err != nil {
		return err
	}
	if st == nil {
		return fmt.Errorf("%w: reservation %q holds stock of missing sku %q", errCorrupt, id, r.sku)
	}
	i, ok := st.find(r.warehouse)
	if !ok {
		return fmt.Errorf("%w: reservation %q holds stock of missing warehouse %s/%s", errCorrupt, id, r.sku, r.warehouse)
	}
	w := &st.warehouses[i]
	sold := status == stCommitted
	if w.reserved < r.qty || sold && w.onHand < r.qty {
		return fmt.Errorf("%w: reservation %q of %d exceeds %s/%s (on_hand %d, reserved %d)", errCorrupt, id, r.qty, r.sku, r.warehouse, w.onHand, w.reserved)
	}
	w.reserved -= r.qty
	if sold {
		w.onHand -= r.qty
	}
	r.status = status
	if err := pt.res.Put([]byte(id), r.encode()); err != nil {
		return err
	}
	if err := pt.holds.Delete(holdKey(r.expiresAt, id)); err != nil {
		return err
	}
	settled := append(appendTimeKey(make([]byte, 0, timeKeyLen+len(id)), s.cfg.Clock.Now()), id...)
	if err := pt.settled.Put(settled, nil); err != nil {
		return err
	}
	m := whMove{warehouse: r.warehouse, kind: moveKinds[status], dReserved: -r.qty}
	if sold {
		m.dOnHand = -r.qty
	}
	return s.putStock(pt, r.sku, st, moveMeta{ref: id}, m)
}

// moveKinds names the movement that ends a hold with each status.
var moveKinds = map[byte]string{stCommitted: store.KindCommit, stReleased: store.KindRelease, stExpired: store.KindExpire}

// GetReservation returns a reservation as stored.
func (s *Store) GetReservation(ctx context.Context, id string) (store.Reservation, error) {
	p, err := s.reservationPartition(id)
	if err != nil {
		return store.Reservation{}, fmt.Errorf("embedded: get reservation: %w: %w", store.ErrNotFound, err)
	}
	var r *resRec
	err = s.view(ctx, "get reservation", func(tx *bolt.Tx) error {
		res, err := subOf(tx, p, bucketRes)
		if err != nil {
			return err
		}
		r, err = getRes(res, id)
		return err
	})
	if err != nil {
		return store.Reservation{}, err
	}
	if r == nil {
		return store.Reservation{}, fmt.Errorf("embedded: get reservation: %w: %q", store.ErrNotFound, id)
	}
	return r.reservation(id), nil
}

// decision is what commit or release makes of a reservation: the status to
// end the hold with (0: leave it as it is) and an error for the caller.
type decision func(r *resRec) (next byte, refused error)

// CommitReservation turns a hold into a sale. A hold at or past its expiry
// ends as expired instead, exactly as ExpireHolds would have ended it.
func (s *Store) CommitReservation(ctx context.Context, id string, now time.Time) (store.Reservation, error) {
	if now.IsZero() {
		now = s.cfg.Clock.Now()
	}
	return s.settle(ctx, "commit", id, func(r *resRec) (byte, error) {
		switch r.status {
		case stCommitted:
			return 0, nil // committing twice answers with the sale
		case stHeld:
			if !now.Before(r.expiresAt) {
				return stExpired, fmt.Errorf("%w: reservation %q expired at %s", store.ErrReservationExpired, id, r.expiresAt.Format(time.RFC3339))
			}
			return stCommitted, nil
		}
		return 0, fmt.Errorf("%w: reservation %q is %s", store.ErrNotHeld, id, statusNames[r.status])
	})
}

// ReleaseReservation returns held stock. Releasing a released or expired
// reservation answers with it unchanged.
func (s *Store) ReleaseReservation(ctx context.Context, id string) (store.Reservation, error) {
	return s.settle(ctx, "release", id, func(r *resRec) (byte, error) {
		switch r.status {
		case stHeld:
			return stReleased, nil
		case stCommitted:
			return 0, fmt.Errorf("%w: reservation %q is committed", store.ErrNotHeld, id)
		}
		return 0, nil
	})
}

// settle runs commit or release. Every status but held is final, so a
// read that finds the reservation no longer held answers without a write
// (no fsync for retries); only a held one takes a write transaction, which
// decides again on what it reads itself.
func (s *Store) settle(ctx context.Context, op, id string, decide decision) (store.Reservation, error) {
	p, err := s.reservationPartition(id)
	if err != nil {
		return store.Reservation{}, fmt.Errorf("embedded: %s: %w: %w", op, store.ErrNotFound, err)
	}
	var (
		out     store.Reservation
		refused error
		found   bool
		next    byte
	)
	look := func(tx *bolt.Tx, write bool) error {
		out, refused, found, next = store.Reservation{}, nil, false, 0
		pt, err := partOf(tx, p)
		if err != nil {
			return err
		}
		r, err := getRes(pt.res, id)
		if err != nil || r == nil {
			return err
		}
		found = true
		next, refused = decide(r)
		if next != 0 && write {
			if err := s.finishHold(pt, id, r, next); err != nil {
				return err
			}
		}
		out = r.reservation(id)
		return nil
	}
	err = s.view(ctx, op, func(tx *bolt.Tx) error { return look(tx, false) })
	if err == nil && found && next != 0 {
		err = s.write(ctx, op, func(tx *bolt.Tx) error { return look(tx, true) })
	}
	switch {
	case err != nil:
		return store.Reservation{}, err
	case !found:
		return store.Reservation{}, fmt.Errorf("embedded: %s: %w: reservation %q", op, store.ErrNotFound, id)
	case refused != nil:
		return out, fmt.Errorf("embedded: %s: %w", op, refused)
	}
	return out, nil
}
