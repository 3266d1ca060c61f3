package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin"
)

// Reserve holds stock in one atomic script that also records the
// idempotency outcome (a reservation or insufficient stock).
func (s *Store) Reserve(ctx context.Context, r origin.ReserveRequest) (origin.Reservation, error) {
	if err := checkReserve(&r); err != nil {
		return origin.Reservation{}, err
	}
	p := keys.Partition(keys.KindStock, r.SKU)
	if r.ID == "" {
		r.ID = keys.NewReservationID(p)
	} else if rp, err := keys.ReservationPartition(r.ID); err != nil || rp != p {
		return origin.Reservation{}, fmt.Errorf("%w: reservation id %q is not one of partition %d", origin.ErrInvalid, r.ID, p)
	}
	if r.Now.IsZero() {
		r.Now = s.clock.Now()
	}
	exp := r.Now.Add(r.TTL)
	v, err := s.run(ctx, scriptReserve, s.reserveKeys(p, r.SKU, r.ID, r.IdempotencyKey), s.reserveArgs(r, exp)...)
	if err != nil {
		return origin.Reservation{}, err
	}
	tag, rest, err := replyOf(v)
	if err != nil {
		return origin.Reservation{}, err
	}
	switch tag {
	case "ok":
		wv, err := at(rest, 0)
		if err != nil {
			return origin.Reservation{}, err
		}
		wh, err := toString(wv)
		if err != nil {
			return origin.Reservation{}, err
		}
		return origin.Reservation{
			ID: r.ID, SKU: r.SKU, Warehouse: wh, Qty: r.Qty, Status: origin.StatusHeld,
			ExpiresAt: normTime(exp), CreatedAt: normTime(r.Now),
		}, nil
	case "replay":
		res, err := reservationFromReply(rest)
		res.Replayed = true
		return res, err
	case "insufficient":
		return origin.Reservation{}, fmt.Errorf("%w: %d of %s", origin.ErrInsufficientStock, r.Qty, r.SKU)
	case "nf":
		return origin.Reservation{}, fmt.Errorf("%w: sku %q", origin.ErrNotFound, r.SKU)
	case "mismatch":
		return origin.Reservation{}, fmt.Errorf("%w: key %q", origin.ErrIdempotencyMismatch, r.IdempotencyKey)
	case "gone":
		return origin.Reservation{}, fmt.Errorf("%w: the reservation recorded for idempotency key %q no longer exists", origin.ErrNotFound, r.IdempotencyKey)
	case "idtaken":
		return origin.Reservation{}, fmt.Errorf("%w: reservation id %q is taken by another request", origin.ErrInvalid, r.ID)
	}
	return origin.Reservation{}, fmt.Errorf("%w: reserve: tag %q", errBadReply, tag)
}

// reserveKeys are the script's KEYS: stock, seq, log, reservation, holds
// and, with an idempotency key, its record.
func (s *Store) reserveKeys(p int, sku, id, idemKey string) []string {
	ks := []string{s.ks.stock(p, sku), s.ks.seq(p), s.ks.log(p), s.ks.reservation(p, id), s.ks.holds(p)}
	if idemKey != "" {
		ks = append(ks, s.ks.idem(p, sku, idemKey))
	}
	return ks
}

// reserveArgs are the script's ARGV (see lua/reserve.lua).
func (s *Store) reserveArgs(r origin.ReserveRequest, exp time.Time) []any {
	// The fingerprint is what must match for a repeated idempotency key to
	// count as the same request.
	fp := strconv.FormatInt(r.Qty, 10) + "|" + r.Warehouse + "|" + strconv.FormatInt(int64(r.TTL), 10)
	return []any{
		keys.Key(keys.KindStock, r.SKU), millis(r.Now), s.cfg.ChangeStreamMaxLen,
		r.Warehouse, r.Qty, r.ID, r.SKU,
		secs(exp), nanos(exp), millis(exp), secs(r.Now), nanos(r.Now),
		fp, s.cfg.IdempotencyTTL.Milliseconds(),
	}
}

func checkReserve(r *origin.ReserveRequest) error {
	if !keys.ValidSKU(r.SKU) {
		return fmt.Errorf("%w: sku %q", origin.ErrInvalid, r.SKU)
	}
	if r.Warehouse != "" && !keys.ValidWarehouse(r.Warehouse) {
		return fmt.Errorf("%w: warehouse %q", origin.ErrInvalid, r.Warehouse)
	}
	if r.Qty <= 0 || r.Qty > maxQty {
		return fmt.Errorf("%w: qty %d outside 1..%d", origin.ErrInvalid, r.Qty, maxQty)
	}
	if r.TTL == 0 {
		r.TTL = origin.DefaultReservationTTL
	}
	if r.TTL < 0 || r.TTL > origin.MaxReservationTTL {
		return fmt.Errorf("%w: ttl %v outside 0..%v", origin.ErrInvalid, r.TTL, origin.MaxReservationTTL)
	}
	if k := r.IdempotencyKey; k != "" {
		if len(k) > 255 {
			return fmt.Errorf("%w: idempotency key longer than 255 bytes", origin.ErrInvalid)
		}
		for i := 0; i < len(k); i++ {
			if k[i] < 0x21 || k[i] > 0x7e {
				return fmt.Errorf("%w: idempotency key must be printable ASCII", origin.ErrInvalid)
			}
		}
	}
	return nil
}

// GetReservation returns a reservation as stored.
func (s *Store) GetReservation(ctx context.Context, id string) (origin.Reservation, error) {
	p, err := keys.ReservationPartition(id)
	if err != nil {
		return origin.Reservation{}, fmt.Errorf("%w: %w", origin.ErrNotFound, err)
	}
	if s.closed.Load() {
		return origin.Reservation{}, s.classify("get reservation", redis.ErrClosed)
	}
	h, err := s.ro.HGetAll(ctx, s.ks.reservation(p, id)).Result()
	if err != nil {
		return origin.Reservation{}, s.classify("get reservation", err)
	}
	if len(h) == 0 {
		return origin.Reservation{}, fmt.Errorf("%w: reservation %q", origin.ErrNotFound, id)
	}
	return reservationFromHash(id, h)
}

// CommitReservation turns a hold into a sale.
func (s *Store) CommitReservation(ctx context.Context, id string, now time.Time) (origin.Reservation, error) {
	p, err := keys.ReservationPartition(id)
	if err != nil {
		return origin.Reservation{}, fmt.Errorf("%w: %w", origin.ErrNotFound, err)
	}
	if now.IsZero() {
		now = s.clock.Now()
	}
	v, err := s.run(ctx, scriptCommit,
		[]string{s.ks.reservation(p, id), s.ks.holds(p), s.ks.seq(p), s.ks.log(p)},
		millis(now), s.cfg.ChangeStreamMaxLen, secs(now), nanos(now), id,
		s.ks.stockPrefix(p), s.cfg.ReservationRetention.Milliseconds())
	if err != nil {
		return origin.Reservation{}, err
	}
	return s.settled(id, "commit", v)
}

// ReleaseReservation returns held stock.
func (s *Store) ReleaseReservation(ctx context.Context, id string) (origin.Reservation, error) {
	p, err := keys.ReservationPartition(id)
	if err != nil {
		return origin.Reservation{}, fmt.Errorf("%w: %w", origin.ErrNotFound, err)
	}
	v, err := s.run(ctx, scriptRelease,
		[]string{s.ks.reservation(p, id), s.ks.holds(p), s.ks.seq(p), s.ks.log(p)},
		s.nowMs(), s.cfg.ChangeStreamMaxLen, id,
		s.ks.stockPrefix(p), s.cfg.ReservationRetention.Milliseconds())
	if err != nil {
		return origin.Reservation{}, err
	}
	return s.settled(id, "release", v)
}

// settled decodes the {tag, reservation} reply of commit and release.
func (s *Store) settled(id, op string, v any) (origin.Reservation, error) {
	tag, rest, err := replyOf(v)
	if err != nil {
		return origin.Reservation{}, err
	}
	if tag == "nf" {
		return origin.Reservation{}, fmt.Errorf("%w: reservation %q", origin.ErrNotFound, id)
	}
	hv, err := at(rest, 0)
	if err != nil {
		return origin.Reservation{}, err
	}
	h, err := toHash(hv)
	if err != nil {
		return origin.Reservation{}, err
	}
	res, err := reservationFromHash(id, h)
	if err != nil {
		return origin.Reservation{}, err
	}
	switch tag {
	case "ok":
		return res, nil
	case "notheld":
		return res, fmt.Errorf("%w: reservation %q is %s", origin.ErrNotHeld, id, res.Status)
	case "expired":
		return res, fmt.Errorf("%w: reservation %q", origin.ErrReservationExpired, id)
	}
	return origin.Reservation{}, fmt.Errorf("%w: %s: tag %q", errBadReply, op, tag)
}

// reservationFromReply decodes {id, reservation hash}.
func reservationFromReply(rest []any) (origin.Reservation, error) {
	iv, err := at(rest, 0)
	if err != nil {
		return origin.Reservation{}, err
	}
	id, err := toString(iv)
	if err != nil {
		return origin.Reservation{}, err
	}
	hv, err := at(rest, 1)
	if err != nil {
		return origin.Reservation{}, err
	}
	h, err := toHash(hv)
	if err != nil {
		return origin.Reservation{}, err
	}
	return reservationFromHash(id, h)
}

func reservationFromHash(id string, h map[string]string) (origin.Reservation, error) {
	res := origin.Reservation{ID: id, SKU: h["sku"], Warehouse: h["wh"], Status: h["st"]}
	var err error
	if res.Qty, err = toInt(h["q"]); err != nil {
		return origin.Reservation{}, err
	}
	if res.ExpiresAt, err = decodeTimeParts(h["es"], h["en"]); err != nil {
		return origin.Reservation{}, err
	}
	if res.CreatedAt, err = decodeTimeParts(h["cs"], h["cn"]); err != nil {
		return origin.Reservation{}, err
	}
	switch res.Status {
	case origin.StatusHeld, origin.StatusCommitted, origin.StatusReleased, origin.StatusExpired:
	default:
		return origin.Reservation{}, fmt.Errorf("%w: reservation %q status %q", errBadReply, id, res.Status)
	}
	return res, nil
}
