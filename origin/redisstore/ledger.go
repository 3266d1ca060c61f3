package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	p := s.space.Partition(keys.KindStock, q.SKU)
	key, okey := s.ks.moves(p, q.SKU), s.ks.openings(p, q.SKU)
	after := q.After
	for {
		// One more than a page, to know whether another page follows.
		want := int64(q.Limit - len(page.Movements) + 1)
		// The openings (ledger retention, ledgertrim.go) and the stream
		// in one MULTI, so a trim never falls between the two reads. The
		// openings' seqs are below every retained movement's.
		var hcmd *redis.MapStringStringCmd
		var xcmd *redis.XMessageSliceCmd
		_, err := s.primary.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			hcmd = pipe.HGetAll(ctx, okey)
			xcmd = pipe.XRangeN(ctx, key, "("+strconv.FormatUint(after, 10)+"-0", "+", want)
			return nil
		})
		if err != nil {
			return store.MovementPage{}, s.classify("movements", err)
		}
		moves, err := openingMoves(p, q.SKU, hcmd.Val(), after)
		if err != nil {
			return store.MovementPage{}, err
		}
		entries := xcmd.Val()
		for _, e := range entries {
			m, err := movementFromEntry(p, q.SKU, e)
			if err != nil {
				return store.MovementPage{}, err
			}
			moves = append(moves, m)
		}
		for _, m := range moves {
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

// movementFromEntry decodes one entry of a SKU's ledger stream (written by
// append_move in lua/common.lua): the fixed fields packed in "p" ("<w> <k>
// <dh> <dr> <h> <r> <v> <t>"), or as separate fields in entries written
// before they were packed.
func movementFromEntry(p int, sku string, e redis.XMessage) (store.Movement, error) {
	seqStr, rest, ok := strings.Cut(e.ID, "-")
	seq, err := strconv.ParseUint(seqStr, 10, 64)
	if !ok || rest != "0" || err != nil || seq == 0 {
		return store.Movement{}, errBadReplyf("movement id %q", e.ID)
	}
	str := func(k string) string { s, _ := e.Values[k].(string); return s }
	// w k dh dr h r v t, then (when none holds a space) rs rf a i.
	var fixed [12]string
	if packed, ok := e.Values["p"].(string); ok {
		n := 0
		for f := range strings.SplitSeq(packed, " ") {
			if n == len(fixed) {
				return store.Movement{}, errBadReplyf("movement %s: packed fields %q", e.ID, packed)
			}
			fixed[n] = f
			n++
		}
		if n != 8 && n != len(fixed) {
			return store.Movement{}, errBadReplyf("movement %s: packed fields %q", e.ID, packed)
		}
	} else {
		for i, k := range [...]string{"w", "k", "dh", "dr", "h", "r", "v", "t"} {
			fixed[i] = str(k)
		}
	}
	// A value kept as its own field (older entries, or one holding a
	// space) wins over an empty packed one.
	meta := func(k string, packed string) string {
		if v := str(k); v != "" {
			return v
		}
		return packed
	}
	m := store.Movement{
		ID: store.MovementID(p, seq), Cursor: seqStr, SKU: sku, Warehouse: fixed[0], Kind: fixed[1],
		Reason: meta("rs", fixed[8]), Ref: meta("rf", fixed[9]), Actor: meta("a", fixed[10]), IdempotencyKey: meta("i", fixed[11]),
		Partition: p, Seq: seq,
	}
	var v, t int64
	for i, dst := range [...]*int64{&m.DeltaOnHand, &m.DeltaReserved, &m.OnHand, &m.Reserved, &v, &t} {
		if *dst, err = strconv.ParseInt(fixed[2+i], 10, 64); err != nil {
			return store.Movement{}, errBadReplyf("movement %s field %d %q", e.ID, 2+i, fixed[2+i])
		}
	}
	if v <= 0 || m.Warehouse == "" || m.Kind == "" {
		return store.Movement{}, errBadReplyf("movement %s of %s", e.ID, sku)
	}
	m.Version = uint64(v)
	m.At = time.UnixMilli(t).UTC()
	return m, nil
}

// StockSKUs lists a partition's SKUs with SCAN on the master that owns
// the partition's slot.
func (s *Store) StockSKUs(ctx context.Context, partition int) ([]string, error) {
	if partition < 0 || partition >= s.space.N() {
		return nil, fmt.Errorf("%w: partition %d", store.ErrInvalid, partition)
	}
	if s.closed.Load() {
		return nil, s.classify("stock skus", redis.ErrClosed)
	}
	prefix := s.ks.stockPrefix(partition)
	var node redis.Cmdable = s.rw
	if cc, ok := s.rw.(*redis.ClusterClient); ok {
		m, err := cc.MasterForKey(ctx, prefix)
		if err != nil {
			return nil, s.classify("stock skus", err)
		}
		node = m
	}
	var out []string
	var cursor uint64
	for {
		ks, next, err := node.Scan(ctx, cursor, escapeGlob(prefix)+"*", 1000).Result()
		if err != nil {
			return nil, s.classify("stock skus", err)
		}
		for _, k := range ks {
			out = append(out, strings.TrimPrefix(k, prefix))
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil // SCAN may return a key twice
}

// escapeGlob escapes SCAN MATCH's special characters.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[]\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// RebuildStock writes a view replayed from the ledger, if the SKU's ledger
// still ends at lastSeq (checked in the same script).
func (s *Store) RebuildStock(ctx context.Context, v store.StockView, lastSeq uint64) error {
	if !keys.ValidSKU(v.SKU) || v.Version == 0 {
		return fmt.Errorf("%w: sku %q version %d", store.ErrInvalid, v.SKU, v.Version)
	}
	args := []any{keys.Key(keys.KindStock, v.SKU), s.nowMs(), s.cfg.ChangeStreamMaxLen, lastSeq, v.Version}
	for name, w := range v.Warehouses {
		if !keys.ValidWarehouse(name) || w.OnHand < 0 || w.Reserved < 0 || w.Reserved > w.OnHand || w.OnHand > maxQty {
			return fmt.Errorf("%w: warehouse %q %+v", store.ErrInvalid, name, w)
		}
		args = append(args, name, w.OnHand, w.Reserved)
	}
	p := s.space.Partition(keys.KindStock, v.SKU)
	r, err := s.run(ctx, scriptStockRebuild, []string{s.ks.stock(p, v.SKU), s.ks.seq(p), s.ks.log(p), s.ks.moves(p, v.SKU), s.ks.openings(p, v.SKU)}, args...)
	if err != nil {
		return err
	}
	tag, _, err := replyOf(r)
	if err != nil {
		return err
	}
	switch tag {
	case "ok":
		return nil
	case "moved":
		return fmt.Errorf("%w: the ledger of %s moved on since seq %d", store.ErrVersionMismatch, v.SKU, lastSeq)
	case "newer":
		return fmt.Errorf("%w: %s is at a newer version than its ledger (%d)", store.ErrInvalid, v.SKU, v.Version)
	}
	return fmt.Errorf("%w: rebuild stock: tag %q", errBadReply, tag)
}

// LedgerHeads reads every partition's ledger counter, pipelined (go-redis
// splits a cluster pipeline by node).
func (s *Store) LedgerHeads(ctx context.Context) ([]uint64, error) {
	if s.closed.Load() {
		return nil, s.classify("ledger heads", redis.ErrClosed)
	}
	pipe := s.primary.Pipeline()
	cmds := make([]*redis.StringCmd, s.space.N())
	for p := range cmds {
		cmds[p] = pipe.Get(ctx, s.ks.moveSeq(p))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, s.classify("ledger heads", err)
	}
	heads := make([]uint64, s.space.N())
	for p, c := range cmds {
		v, err := c.Uint64()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, errBadReplyf("ledger head of partition %d: %v", p, err)
		}
		heads[p] = v
	}
	return heads, nil
}

// PartitionMovements reads a partition's next movements in one read-only
// script on the partition's master (ManyPartitionMovements of one).
func (s *Store) PartitionMovements(ctx context.Context, partition int, after uint64, limit int) ([]store.Movement, error) {
	out, err := s.ManyPartitionMovements(ctx, map[int]uint64{partition: after}, limit)
	return out[partition], err
}

// ManyPartitionMovements reads, for each partition in after, up to limit
// of its movements after the seq given: one read-only feed script per
// partition on its master, all pipelined (go-redis splits the pipeline by
// node on a cluster). The feed reads every partition that moved, which
// one round trip each made as slow as the partitions were many.
func (s *Store) ManyPartitionMovements(ctx context.Context, after map[int]uint64, limit int) (map[int][]store.Movement, error) {
	if limit <= 0 || limit > store.MaxMovementsLimit {
		limit = store.MaxMovementsLimit
	}
	parts := make([]int, 0, len(after))
	for p := range after {
		if p < 0 || p >= s.space.N() {
			return nil, fmt.Errorf("%w: partition %d", store.ErrInvalid, p)
		}
		parts = append(parts, p)
	}
	calls := make([]*batchCall, len(parts))
	for i, p := range parts {
		calls[i] = &batchCall{keys: []string{s.ks.moveLog(p)}, args: []any{after[p], limit, s.ks.part[p]}}
	}
	if err := s.runBatch(ctx, scriptFeed, calls); err != nil {
		return nil, err
	}
	out := make(map[int][]store.Movement, len(parts))
	for i, p := range parts {
		ms, err := feedReply(p, calls[i].val)
		if err != nil {
			return nil, err
		}
		out[p] = ms
	}
	return out, nil
}

// feedReply decodes the feed script's reply for a partition.
func feedReply(partition int, v any) ([]store.Movement, error) {
	arr, ok := v.([]any)
	if !ok || len(arr)%3 != 0 {
		return nil, errBadReplyf("feed: %T", v)
	}
	out := make([]store.Movement, 0, len(arr)/3)
	for i := 0; i < len(arr); i += 3 {
		id, ok1 := arr[i].(string)
		sku, ok2 := arr[i+1].(string)
		fields, ok3 := arr[i+2].([]any)
		if !ok1 || !ok2 || !ok3 || len(fields)%2 != 0 {
			return nil, errBadReplyf("feed entry %v", arr[i])
		}
		vals := make(map[string]any, len(fields)/2)
		for j := 0; j < len(fields); j += 2 {
			k, _ := fields[j].(string)
			vals[k] = fields[j+1]
		}
		m, err := movementFromEntry(partition, sku, redis.XMessage{ID: id, Values: vals})
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
