package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// Movements returns a page of a SKU's ledger from its stream, read on the
// master (the ledger is what verify and replay trust; a replica may lag).
func (s *Store) Movements(ctx context.Context, q store.MovementQuery) (store.MovementPage, error) {
	var page store.MovementPage
	if !keys.ValidSKU(q.SKU) {
		return page, fmt.Errorf("%w: sku %q", store.ErrInvalid, q.SKU)
	}
	if q.Limit <= 0 || q.Limit > store.MaxMovementsLimit {
		q.Limit = store.MaxMovementsLimit
	}
	if s.closed.Load() {
		return page, s.classify("movements", redis.ErrClosed)
	}
	p := keys.Partition(keys.KindStock, q.SKU)
	key := s.ks.moves(p, q.SKU)
	after := q.After
	for {
		// One more than a page, to know whether another page follows.
		want := int64(q.Limit - len(page.Movements) + 1)
		entries, err := s.primary.XRangeN(ctx, key, "("+strconv.FormatUint(after, 10)+"-0", "+", want).Result()
		if err != nil {
			return store.MovementPage{}, s.classify("movements", err)
		}
		for _, e := range entries {
			m, err := movementFromEntry(p, q.SKU, e)
			if err != nil {
				return store.MovementPage{}, err
			}
			after = m.Seq
			if q.Warehouse != "" && m.Warehouse != q.Warehouse {
				continue
			}
			if len(page.Movements) == q.Limit {
				page.Next = page.Movements[len(page.Movements)-1].Seq
				return page, nil
			}
			page.Movements = append(page.Movements, m)
		}
		if int64(len(entries)) < want {
			return page, nil
		}
	}
}

// movementFromEntry decodes one entry of a SKU's ledger stream (fields
// written by append_move in lua/common.lua).
func movementFromEntry(p int, sku string, e redis.XMessage) (store.Movement, error) {
	seqStr, rest, ok := strings.Cut(e.ID, "-")
	seq, err := strconv.ParseUint(seqStr, 10, 64)
	if !ok || rest != "0" || err != nil || seq == 0 {
		return store.Movement{}, errBadReplyf("movement id %q", e.ID)
	}
	str := func(k string) string { s, _ := e.Values[k].(string); return s }
	num := func(k string) (int64, error) {
		n, err := strconv.ParseInt(str(k), 10, 64)
		if err != nil {
			return 0, errBadReplyf("movement %s field %s %q", e.ID, k, str(k))
		}
		return n, nil
	}
	m := store.Movement{
		ID: store.MovementID(p, seq), Cursor: seqStr, SKU: sku, Warehouse: str("w"), Kind: str("k"),
		Reason: str("rs"), Ref: str("rf"), Actor: str("a"), IdempotencyKey: str("i"),
		Partition: p, Seq: seq,
	}
	var v, t int64
	for _, f := range []struct {
		k   string
		dst *int64
	}{{"dh", &m.DeltaOnHand}, {"dr", &m.DeltaReserved}, {"h", &m.OnHand}, {"r", &m.Reserved}, {"v", &v}, {"t", &t}} {
		if *f.dst, err = num(f.k); err != nil {
			return store.Movement{}, err
		}
	}
	if v <= 0 || m.Warehouse == "" || m.Kind == "" {
		return store.Movement{}, errBadReplyf("movement %s of %s", e.ID, sku)
	}
	m.Version = uint64(v)
	m.At = time.UnixMilli(t).UTC()
	return m, nil
}
