package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// Reserve holds stock in one atomic script that also records the
// idempotency outcome (a reservation or insufficient stock).
func (s *Store) Reserve(ctx context.Context, r store.ReserveRequest) (store.Reservation, error) {
	if err := checkReserve(&r); err != nil {
		return store.Reservation{}, err
	}
	p := s.space.Partition(keys.KindStock, r.SKU)
	if r.ID == "" {
		r.ID = keys.NewReservationID(p)
	} else if rp, err := keys.ReservationPartition(r.ID); err != nil || rp != p {
		return store.Reservation{}, fmt.Errorf("%w: reservation id %q is not one of partition %d", store.ErrInvalid, r.ID, p)
	}
	if r.Now.IsZero() {
		r.Now = s.clock.Now()
	}
	exp := r.Now.Add(r.TTL)
	if r.IdempotencyKey != "" {
		// The key's global claim first, as stock writes make it (see
		// WriteStock): the same key for another SKU or a stock write is
		// another request, which the SKU's own slot cannot see.
		if err := s.claimIdem(ctx, r.IdempotencyKey, r.Fingerprint()); err != nil {
			return store.Reservation{}, err
		}
	}
	v, err := s.runDurable(ctx, scriptReserve, s.reserveKeys(p, r.SKU, r.ID, r.IdempotencyKey), s.reserveArgs(r, exp)...)
	if err != nil {
		return store.Reservation{}, err
	}
	tag, rest, err := replyOf(v)
	if err != nil {
		return store.Reservation{}, err
	}
	switch tag {
	case "ok":
		wv, err := at(rest, 0)
		if err != nil {
			return store.Reservation{}, err
		}
		wh, err := toString(wv)
		if err != nil {
			return store.Reservation{}, err
		}
		return store.Reservation{
			ID: r.ID, SKU: r.SKU, Warehouse: wh, Qty: r.Qty, Status: store.StatusHeld,
			ExpiresAt: normTime(exp), CreatedAt: normTime(r.Now),
		}, nil
	case "replay":
		res, err := reservationFromReply(rest)
		res.Replayed = true
		return res, err
	case "insufficient":
		return store.Reservation{}, fmt.Errorf("%w: %d of %s", store.ErrInsufficientStock, r.Qty, r.SKU)
	case "nf":
		return store.Reservation{}, fmt.Errorf("%w: sku %q", store.ErrNotFound, r.SKU)
	case "mismatch":
		return store.Reservation{}, fmt.Errorf("%w: key %q", store.ErrIdempotencyMismatch, r.IdempotencyKey)
	case "gone":
		return store.Reservation{}, fmt.Errorf("%w: the reservation recorded for idempotency key %q no longer exists", store.ErrNotFound, r.IdempotencyKey)
	case "idtaken":
		return store.Reservation{}, fmt.Errorf("%w: reservation id %q is taken by another request", store.ErrInvalid, r.ID)
	}
	return store.Reservation{}, fmt.Errorf("%w: reserve: tag %q", errBadReply, tag)
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
func (s *Store) reserveArgs(r store.ReserveRequest, exp time.Time) []any {
	// The fingerprint is what must match for a repeated idempotency key to
	// count as the same request.
	fp := strconv.FormatInt(r.Qty, 10) + "|" + r.Warehouse + "|" + strconv.FormatInt(int64(r.TTL), 10)
	return []any{
		keys.Key(keys.KindStock, r.SKU), millis(r.Now), s.cfg.ChangeStreamMaxLen,
		r.Warehouse, r.Qty, r.ID, r.SKU,
		secs(exp), nanos(exp), millis(exp), secs(r.Now), nanos(r.Now),
		fp, s.cfg.IdempotencyTTL.Milliseconds(), r.Actor, r.IdempotencyKey,
	}
}

func checkReserve(r *store.ReserveRequest) error {
	if !keys.ValidSKU(r.SKU) {
		return fmt.Errorf("%w: sku %q", store.ErrInvalid, r.SKU)
	}
	if r.Warehouse != "" && !keys.ValidWarehouse(r.Warehouse) {
		return fmt.Errorf("%w: warehouse %q", store.ErrInvalid, r.Warehouse)
	}
	if r.Qty <= 0 || r.Qty > maxQty {
		return fmt.Errorf("%w: qty %d outside 1..%d", store.ErrInvalid, r.Qty, maxQty)
	}
	if r.TTL == 0 {
		r.TTL = store.DefaultReservationTTL
	}
	if r.TTL < 0 || r.TTL > store.MaxReservationTTL {
		return fmt.Errorf("%w: ttl %v outside 0..%v", store.ErrInvalid, r.TTL, store.MaxReservationTTL)
	}
	if k := r.IdempotencyKey; k != "" {
		if len(k) > 255 {
			return fmt.Errorf("%w: idempotency key longer than 255 bytes", store.ErrInvalid)
		}
		for i := 0; i < len(k); i++ {
			if k[i] < 0x21 || k[i] > 0x7e {
				return fmt.Errorf("%w: idempotency key must be printable ASCII", store.ErrInvalid)
			}
		}
	}
	return nil
}

// GetReservation returns a reservation as stored.
func (s *Store) GetReservation(ctx context.Context, id string) (store.Reservation, error) {
	p, err := s.reservationPartition(id)
	if err != nil {
		return store.Reservation{}, fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	if s.closed.Load() {
		return store.Reservation{}, s.classify("get reservation", redis.ErrClosed)
	}
	// Always the primary, even with ReadFromReplicas: a client reads its
	// reservation right after making it (read-your-writes, API.md), and a
	// replica may not hold it yet. A durable read with WAIT
	// (readDurable): a hold a failover can still lose is never shown.
	var cmd *redis.MapStringStringCmd
	err = s.readDurable(ctx, "get reservation", s.primary, s.ks.reservation(p, id), func(pipe redis.Pipeliner) {
		cmd = pipe.HGetAll(ctx, s.ks.reservation(p, id))
	})
	if err != nil {
		return store.Reservation{}, err
	}
	h, err := cmd.Result()
	if err != nil {
		return store.Reservation{}, s.classify("get reservation", err)
	}
	if len(h) == 0 {
		return store.Reservation{}, fmt.Errorf("%w: reservation %q", store.ErrNotFound, id)
	}
	return reservationFromHash(id, h)
}

// CommitReservation turns a hold into a sale.
func (s *Store) CommitReservation(ctx context.Context, id string, now time.Time) (store.Reservation, error) {
	p, err := s.reservationPartition(id)
	if err != nil {
		return store.Reservation{}, fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	if now.IsZero() {
		now = s.clock.Now()
	}
	v, err := s.runDurable(ctx, scriptCommit,
		[]string{s.ks.reservation(p, id), s.ks.holds(p), s.ks.seq(p), s.ks.log(p)},
		millis(now), s.cfg.ChangeStreamMaxLen, secs(now), nanos(now), id,
		s.ks.stockPrefix(p), s.cfg.ReservationRetention.Milliseconds())
	if err != nil {
		return store.Reservation{}, err
	}
	return s.settled(id, "commit", v)
}

// ReleaseReservation returns held stock.
func (s *Store) ReleaseReservation(ctx context.Context, id string) (store.Reservation, error) {
	p, err := s.reservationPartition(id)
	if err != nil {
		return store.Reservation{}, fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	v, err := s.runDurable(ctx, scriptRelease,
		[]string{s.ks.reservation(p, id), s.ks.holds(p), s.ks.seq(p), s.ks.log(p)},
		s.nowMs(), s.cfg.ChangeStreamMaxLen, id,
		s.ks.stockPrefix(p), s.cfg.ReservationRetention.Milliseconds())
	if err != nil {
		return store.Reservation{}, err
	}
	return s.settled(id, "release", v)
}

// settled decodes the {tag, reservation} reply of commit and release.
func (s *Store) settled(id, op string, v any) (store.Reservation, error) {
	tag, rest, err := replyOf(v)
	if err != nil {
		return store.Reservation{}, err
	}
	if tag == "nf" {
		return store.Reservation{}, fmt.Errorf("%w: reservation %q", store.ErrNotFound, id)
	}
	hv, err := at(rest, 0)
	if err != nil {
		return store.Reservation{}, err
	}
	h, err := toHash(hv)
	if err != nil {
		return store.Reservation{}, err
	}
	res, err := reservationFromHash(id, h)
	if err != nil {
		return store.Reservation{}, err
	}
	switch tag {
	case "ok":
		return res, nil
	case "notheld":
		return res, fmt.Errorf("%w: reservation %q is %s", store.ErrNotHeld, id, res.Status)
	case "expired":
		return res, fmt.Errorf("%w: reservation %q", store.ErrReservationExpired, id)
	}
	return store.Reservation{}, fmt.Errorf("%w: %s: tag %q", errBadReply, op, tag)
}

// reservationFromReply decodes {id, reservation hash}.
func reservationFromReply(rest []any) (store.Reservation, error) {
	iv, err := at(rest, 0)
	if err != nil {
		return store.Reservation{}, err
	}
	id, err := toString(iv)
	if err != nil {
		return store.Reservation{}, err
	}
	hv, err := at(rest, 1)
	if err != nil {
		return store.Reservation{}, err
	}
	h, err := toHash(hv)
	if err != nil {
		return store.Reservation{}, err
	}
	return reservationFromHash(id, h)
}

func reservationFromHash(id string, h map[string]string) (store.Reservation, error) {
	res := store.Reservation{ID: id, SKU: h["sku"], Warehouse: h["wh"], Status: h["st"]}
	var err error
	if res.Qty, err = toInt(h["q"]); err != nil {
		return store.Reservation{}, err
	}
	if res.ExpiresAt, err = decodeTimeParts(h["es"], h["en"]); err != nil {
		return store.Reservation{}, err
	}
	if res.CreatedAt, err = decodeTimeParts(h["cs"], h["cn"]); err != nil {
		return store.Reservation{}, err
	}
	switch res.Status {
	case store.StatusHeld, store.StatusCommitted, store.StatusReleased, store.StatusExpired:
	default:
		return store.Reservation{}, fmt.Errorf("%w: reservation %q status %q", errBadReply, id, res.Status)
	}
	return res, nil
}

// ExtendReservation moves a held reservation's expiry later in one script
// (hash and holds index together).
func (s *Store) ExtendReservation(ctx context.Context, id string, now time.Time, ttl time.Duration) (store.Reservation, error) {
	p, err := s.reservationPartition(id)
	if err != nil {
		return store.Reservation{}, fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	if ttl <= 0 || ttl > store.MaxReservationTTL {
		return store.Reservation{}, fmt.Errorf("%w: ttl %v", store.ErrInvalid, ttl)
	}
	if now.IsZero() {
		now = s.clock.Now()
	}
	exp := now.Add(ttl)
	v, err := s.runDurable(ctx, scriptExtend, []string{s.ks.reservation(p, id), s.ks.holds(p)},
		secs(now), nanos(now), secs(exp), nanos(exp), millis(exp), id)
	if err != nil {
		return store.Reservation{}, err
	}
	return s.settled(id, "extend", v)
}
