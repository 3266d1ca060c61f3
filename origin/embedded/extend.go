package embedded

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shortstock/shortstock/origin/store"
)

// ExtendReservation moves a held reservation's expiry later, re-indexing
// it in the holds index, in one transaction. Stock is unchanged, so no
// version, change or movement.
func (s *Store) ExtendReservation(ctx context.Context, id string, now time.Time, ttl time.Duration) (store.Reservation, error) {
	p, err := s.reservationPartition(id)
	if err != nil {
		return store.Reservation{}, fmt.Errorf("embedded: extend: %w: %w", store.ErrNotFound, err)
	}
	if ttl <= 0 || ttl > store.MaxReservationTTL {
		return store.Reservation{}, fmt.Errorf("embedded: extend: %w: ttl %v", store.ErrInvalid, ttl)
	}
	if now.IsZero() {
		now = s.cfg.Clock.Now()
	}
	var out store.Reservation
	var derr error
	err = s.write(ctx, "extend", func(tx *bolt.Tx) error {
		out, derr = store.Reservation{}, nil
		pt, err := partOf(tx, p)
		if err != nil {
			return err
		}
		r, err := getRes(pt.res, id)
		if err != nil {
			return err
		}
		switch {
		case r == nil:
			derr = fmt.Errorf("embedded: extend: %w: reservation %q", store.ErrNotFound, id)
			return nil
		case r.status != stHeld:
			out = r.reservation(id)
			derr = fmt.Errorf("embedded: extend: %w: reservation %q is %s", store.ErrNotHeld, id, statusNames[r.status])
			return nil
		case !now.Before(r.expiresAt):
			out = r.reservation(id)
			derr = fmt.Errorf("embedded: extend: %w: reservation %q", store.ErrReservationExpired, id)
			return nil
		}
		if exp := utc(now.Add(ttl)); exp.After(r.expiresAt) {
			if err := pt.holds.Delete(holdKey(r.expiresAt, id)); err != nil {
				return err
			}
			r.expiresAt = exp
			if err := pt.holds.Put(holdKey(exp, id), nil); err != nil {
				return err
			}
			if err := pt.res.Put([]byte(id), r.encode()); err != nil {
				return err
			}
		}
		out = r.reservation(id)
		return nil
	})
	if err != nil {
		return store.Reservation{}, err
	}
	return out, derr
}
