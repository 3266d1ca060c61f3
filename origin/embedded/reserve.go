package embedded

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// maxIdempotencyKeyLen bounds an idempotency key, as the admin API does.
const maxIdempotencyKeyLen = 255

// checkReserve validates r and fills its defaults (TTL).
func checkReserve(r *store.ReserveRequest) error {
	if !keys.ValidSKU(r.SKU) {
		return fmt.Errorf("%w: sku %q", store.ErrInvalid, r.SKU)
	}
	if r.Warehouse != "" && !keys.ValidWarehouse(r.Warehouse) {
		return fmt.Errorf("%w: warehouse %q", store.ErrInvalid, r.Warehouse)
	}
	if r.Qty <= 0 || r.Qty > maxQty {
		return fmt.Errorf("%w: qty %d outside 1..%d", store.ErrInvalid, r.Qty, int64(maxQty))
	}
	if r.TTL == 0 {
		r.TTL = store.DefaultReservationTTL
	}
	if r.TTL < 0 || r.TTL > store.MaxReservationTTL {
		return fmt.Errorf("%w: ttl %v outside 0..%v", store.ErrInvalid, r.TTL, store.MaxReservationTTL)
	}
	if k := r.IdempotencyKey; k != "" {
		if len(k) > maxIdempotencyKeyLen {
			return fmt.Errorf("%w: idempotency key longer than %d bytes", store.ErrInvalid, maxIdempotencyKeyLen)
		}
		for i := 0; i < len(k); i++ {
			if k[i] < 0x21 || k[i] > 0x7e {
				return fmt.Errorf("%w: idempotency key must be printable ASCII", store.ErrInvalid)
			}
		}
	}
	return nil
}

// Reserve holds stock in one write that also records the idempotency
// outcome (a reservation, or insufficient stock).
func (s *Store) Reserve(ctx context.Context, r store.ReserveRequest) (store.Reservation, error) {
	if err := checkReserve(&r); err != nil {
		return store.Reservation{}, fmt.Errorf("embedded: reserve: %w", err)
	}
	p := s.space.Partition(keys.KindStock, r.SKU)
	if r.ID == "" {
		r.ID = keys.NewReservationID(p)
	} else if rp, err := keys.ReservationPartition(r.ID); err != nil || rp != p {
		return store.Reservation{}, fmt.Errorf("embedded: reserve: %w: reservation id %q is not one of partition %d", store.ErrInvalid, r.ID, p)
	}
	if r.Now.IsZero() {
		r.Now = s.cfg.Clock.Now()
	}
	var out store.Reservation
	var derr error
	err := s.write(ctx, "reserve", func(tx *bolt.Tx) error {
		out, derr = store.Reservation{}, nil
		pt, err := partOf(tx, p)
		if err != nil {
			return err
		}
		out, derr, err = s.reserveTx(tx, pt, &r)
		if derr != nil {
			derr = fmt.Errorf("embedded: reserve: %w", derr)
		}
		return err
	})
	// After the commit (or its failure): a scan that ran before it did not
	// see this hold, so its due time must not be trusted past the hold's.
	s.noteHold(r.Now.Add(r.TTL))
	if err != nil {
		return store.Reservation{}, err
	}
	return out, derr
}

// reserveTx is Reserve inside its transaction. It returns the outcome, a
// refusal for the caller, and a storage error (which aborts the
// transaction).
func (s *Store) reserveTx(tx *bolt.Tx, pt *part, r *store.ReserveRequest) (res store.Reservation, refused, err error) {
	recordedAt := utc(s.cfg.Clock.Now())
	var ik []byte
	var ipt *part // the key's own partition, for its global claim
	if r.IdempotencyKey != "" {
		// The key's claim first: the same key used for another SKU, or
		// for a stock write, is another request whatever this SKU holds.
		if ipt, err = partOf(tx, store.IdempotencyPartition(s.space, r.IdempotencyKey)); err != nil {
			return store.Reservation{}, nil, err
		}
		if v := ipt.idem.Get(stockIdemKey(r.IdempotencyKey)); v != nil {
			rec, err := decodeStockIdem(v)
			if err != nil {
				return store.Reservation{}, nil, fmt.Errorf("idempotency claim %q: %w", r.IdempotencyKey, err)
			}
			if !s.idemExpired(rec.at, recordedAt) && rec.fp != r.Fingerprint() {
				return store.Reservation{}, fmt.Errorf("%w: key %q", store.ErrIdempotencyMismatch, r.IdempotencyKey), nil
			}
		}
		ik = idemKey(r.SKU, r.IdempotencyKey)
		if v := pt.idem.Get(ik); v != nil {
			rec, err := decodeIdem(v)
			if err != nil {
				return store.Reservation{}, nil, fmt.Errorf("idempotency record %q: %w", r.IdempotencyKey, err)
			}
			// A record past its TTL is forgotten (maintenance deletes it
			// later) and overwritten below.
			if !s.idemExpired(rec.at, recordedAt) {
				return s.replay(pt, r, &rec)
			}
		}
	}

	// An existing ID means this very request already ran (IDs are random,
	// 119 bits): a caller retrying after a timeout gets the first outcome.
	if prev, err := getRes(pt.res, r.ID); err != nil || prev != nil {
		if err != nil {
			return store.Reservation{}, nil, err
		}
		if prev.sku != r.SKU || prev.qty != r.Qty {
			return store.Reservation{}, fmt.Errorf("%w: reservation id %q is taken by another request", store.ErrInvalid, r.ID), nil
		}
		res = prev.reservation(r.ID)
		res.Replayed = true
		return res, nil, nil
	}

	st, err := getStock(pt.stock, r.SKU)
	if err != nil {
		return store.Reservation{}, nil, err
	}
	if st == nil {
		return store.Reservation{}, fmt.Errorf("%w: sku %q", store.ErrNotFound, r.SKU), nil
	}
	i := pickWarehouse(st, r.Warehouse, r.Qty)
	if i < 0 {
		if ik != nil {
			if err := s.putIdem(pt, ik, &idemRec{qty: r.Qty, warehouse: r.Warehouse, ttl: r.TTL, at: recordedAt}); err != nil {
				return store.Reservation{}, nil, err
			}
			if err := s.claimIdem(ipt, r, recordedAt); err != nil {
				return store.Reservation{}, nil, err
			}
		}
		return store.Reservation{}, fmt.Errorf("%w: %d of %s", store.ErrInsufficientStock, r.Qty, r.SKU), nil
	}

	w := &st.warehouses[i]
	w.reserved += r.Qty
	hold := &resRec{
		status:    stHeld,
		sku:       r.SKU,
		warehouse: w.name,
		qty:       r.Qty,
		expiresAt: utc(r.Now.Add(r.TTL)),
		createdAt: utc(r.Now),
	}
	if err := pt.res.Put([]byte(r.ID), hold.encode()); err != nil {
		return store.Reservation{}, nil, err
	}
	if err := pt.holds.Put(holdKey(hold.expiresAt, r.ID), nil); err != nil {
		return store.Reservation{}, nil, err
	}
	if ik != nil {
		if err := s.putIdem(pt, ik, &idemRec{qty: r.Qty, warehouse: r.Warehouse, ttl: r.TTL, id: r.ID, at: recordedAt}); err != nil {
			return store.Reservation{}, nil, err
		}
		if err := s.claimIdem(ipt, r, recordedAt); err != nil {
			return store.Reservation{}, nil, err
		}
	}
	meta := moveMeta{ref: r.ID, actor: r.Actor, ik: r.IdempotencyKey}
	if err := s.putStock(pt, r.SKU, st, meta, whMove{warehouse: w.name, kind: store.KindHold, dReserved: r.Qty}); err != nil {
		return store.Reservation{}, nil, err
	}
	return hold.reservation(r.ID), nil, nil
}

// replay answers a repeated idempotent request with the recorded outcome.
func (s *Store) replay(pt *part, r *store.ReserveRequest, rec *idemRec) (res store.Reservation, refused, err error) {
	if !rec.matches(r) {
		return store.Reservation{}, fmt.Errorf("%w: key %q", store.ErrIdempotencyMismatch, r.IdempotencyKey), nil
	}
	if rec.id == "" {
		return store.Reservation{}, fmt.Errorf("%w: %d of %s (recorded for key %q)", store.ErrInsufficientStock, r.Qty, r.SKU, r.IdempotencyKey), nil
	}
	prev, err := getRes(pt.res, rec.id)
	if err != nil {
		return store.Reservation{}, nil, err
	}
	if prev == nil {
		// Only if ReservationRetention were shorter than IdempotencyTTL,
		// which Config refuses; kept as an answer rather than a panic.
		return store.Reservation{}, fmt.Errorf("%w: the reservation recorded for idempotency key %q no longer exists", store.ErrNotFound, r.IdempotencyKey), nil
	}
	res = prev.reservation(rec.id)
	res.Replayed = true
	return res, nil, nil
}

// pickWarehouse returns the index of the warehouse to reserve qty from, or
// -1. A named warehouse must have enough itself. Otherwise the one with the
// most available among those that have enough wins; warehouses are sorted
// by name, so keeping the first of equals breaks ties by name.
func pickWarehouse(st *stockRec, name string, qty int64) int {
	if name != "" {
		i, ok := st.find(name)
		if !ok || st.warehouses[i].onHand-st.warehouses[i].reserved < qty {
			return -1
		}
		return i
	}
	best, bestAvail := -1, int64(-1)
	for i, w := range st.warehouses {
		if a := w.onHand - w.reserved; a >= qty && a > bestAvail {
			best, bestAvail = i, a
		}
	}
	return best
}

// putIdem records an idempotency outcome and indexes it by age, so
// maintenance can forget it after IdempotencyTTL without a scan.
func (s *Store) putIdem(pt *part, ik []byte, rec *idemRec) error {
	if err := pt.idem.Put(ik, rec.encode()); err != nil {
		return err
	}
	return pt.idemAge.Put(append(appendTimeKey(make([]byte, 0, timeKeyLen+len(ik)), rec.at), ik...), nil)
}

// claimIdem records a reservation's claim on its key in the key's own
// partition, in the same transaction as its outcome: stock writes and
// reservations on other SKUs see it there (the record of a stock write,
// with an empty outcome and the reservation's fingerprint).
func (s *Store) claimIdem(ipt *part, r *store.ReserveRequest, at time.Time) error {
	k := stockIdemKey(r.IdempotencyKey)
	rec := stockIdemRec{fp: r.Fingerprint(), at: at}
	if err := ipt.idem.Put(k, rec.encode()); err != nil {
		return err
	}
	return ipt.idemAge.Put(append(appendTimeKey(make([]byte, 0, timeKeyLen+len(k)), at), k...), nil)
}

// idemExpired reports whether a record made at at is past its TTL at now.
func (s *Store) idemExpired(at, now time.Time) bool {
	return !now.Before(at.Add(s.cfg.IdempotencyTTL))
}
