package redisstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// SetStock sets on_hand of sku in warehouse, creating either.
func (s *Store) SetStock(ctx context.Context, sku, warehouse string, onHand int64) (store.StockView, error) {
	return s.WriteStock(ctx, store.StockWrite{Op: store.OpSet, SKU: sku, Warehouse: warehouse, Qty: onHand})
}

// AdjustStock adds delta to on_hand.
func (s *Store) AdjustStock(ctx context.Context, sku, warehouse string, delta int64) (store.StockView, error) {
	return s.WriteStock(ctx, store.StockWrite{Op: store.OpAdjust, SKU: sku, Warehouse: warehouse, Qty: delta})
}

// WriteStock runs a set, adjust or transfer in one script that also
// appends its movements and its change.
func (s *Store) WriteStock(ctx context.Context, w store.StockWrite) (store.StockView, error) {
	if err := checkWrite(&w); err != nil {
		return store.StockView{}, err
	}
	if w.IdempotencyKey != "" {
		// Claim the key in its own partition first: the write below runs in
		// the SKU's slot, which cannot see a claim made for another SKU.
		// A claim left by a request that died before its write is harmless:
		// the same request retried goes on to the write, which records (or
		// replays) its outcome atomically.
		if err := s.claimIdem(ctx, w.IdempotencyKey, w.Fingerprint()); err != nil {
			return store.StockView{}, err
		}
	}
	v, err := s.runDurable(ctx, scriptStockWrite, s.stockWriteKeys(&w), s.stockWriteArgs(&w)...)
	if err != nil {
		return store.StockView{}, err
	}
	return stockWriteResult(&w, v)
}

// checkWrite validates a stock write before any script: the same checks
// for a synchronous write and a bulk job's line.
func checkWrite(w *store.StockWrite) error {
	if err := w.Check(); err != nil {
		return err
	}
	if err := checkStockArgs(w.SKU, w.Warehouse); err != nil {
		return err
	}
	if w.Op == store.OpTransfer && !keys.ValidWarehouse(w.To) {
		return fmt.Errorf("%w: warehouse %q", store.ErrInvalid, w.To)
	}
	switch {
	case w.Op == store.OpSet && (w.Qty < 0 || w.Qty > maxQty):
		return fmt.Errorf("%w: on_hand %d outside 0..%d", store.ErrInvalid, w.Qty, maxQty)
	case w.Qty < -maxQty || w.Qty > maxQty:
		return fmt.Errorf("%w: quantity %d outside ±%d", store.ErrInvalid, w.Qty, maxQty)
	}
	return nil
}

func (s *Store) stockWriteKeys(w *store.StockWrite) []string {
	p := s.space.Partition(keys.KindStock, w.SKU)
	ks := []string{s.ks.stock(p, w.SKU), s.ks.seq(p), s.ks.log(p)}
	if w.IdempotencyKey != "" {
		ks = append(ks, s.ks.stockIdem(p, w.SKU, w.IdempotencyKey))
	}
	return ks
}

func (s *Store) stockWriteArgs(w *store.StockWrite) []any {
	args := []any{keys.Key(keys.KindStock, w.SKU), s.nowMs(), s.cfg.ChangeStreamMaxLen,
		w.Op, w.Warehouse, w.Qty, w.To, w.IfVersion, w.SKU, w.Reason, w.Ref, w.Actor, w.IdempotencyKey}
	if w.IdempotencyKey != "" {
		args = append(args, w.Fingerprint(), s.cfg.IdempotencyTTL.Milliseconds())
	}
	return args
}

// stockWriteResult maps the stock_write script's reply.
func stockWriteResult(w *store.StockWrite, v any) (store.StockView, error) {
	tag, rest, err := replyOf(v)
	if err != nil {
		return store.StockView{}, err
	}
	switch tag {
	case "ok":
		return stockFromReply(w.SKU, rest)
	case "below":
		return store.StockView{}, fmt.Errorf("%w: %s/%s", store.ErrBelowReserved, w.SKU, w.Warehouse)
	case "insufficient":
		return store.StockView{}, fmt.Errorf("%w: %s/%s", store.ErrInsufficientStock, w.SKU, w.Warehouse)
	case "nf":
		return store.StockView{SKU: w.SKU}, fmt.Errorf("%w: stock %s/%s", store.ErrNotFound, w.SKU, w.Warehouse)
	case "replay":
		v, err := stockFromReply(w.SKU, rest)
		v.Replayed = err == nil
		return v, err
	case "idem_mismatch":
		return store.StockView{}, fmt.Errorf("%w: key %q", store.ErrIdempotencyMismatch, w.IdempotencyKey)
	case "mismatch":
		cur, _ := at(rest, 0)
		return store.StockView{}, fmt.Errorf("%w: %s is at version %v, not %d", store.ErrVersionMismatch, w.SKU, cur, w.IfVersion)
	}
	return store.StockView{}, fmt.Errorf("%w: %s stock: tag %q", errBadReply, w.Op, tag)
}

// GetStock returns the stock view, or ErrNotFound (Version 0: SKUs are
// never deleted) for an unknown SKU.
func (s *Store) GetStock(ctx context.Context, sku string) (store.StockView, error) {
	return s.getStock(ctx, s.ro, sku, false)
}

// GetStockPrimary is GetStock from the master, never a replica. With WAIT
// (Config.WaitReplicas) it is a durable read (readDurable): answered only
// once the replicas hold what it saw, else ErrUnavailable, so the admin
// API never shows stock that a failover can take back.
func (s *Store) GetStockPrimary(ctx context.Context, sku string) (store.StockView, error) {
	return s.getStock(ctx, s.primary, sku, true)
}

func (s *Store) getStock(ctx context.Context, c redis.UniversalClient, sku string, durable bool) (store.StockView, error) {
	missing := store.StockView{SKU: sku, Warehouses: map[string]store.WarehouseStock{}}
	if !keys.ValidSKU(sku) {
		return missing, fmt.Errorf("%w: sku %q", store.ErrNotFound, sku)
	}
	if s.closed.Load() {
		return missing, s.classify("get stock", redis.ErrClosed)
	}
	p := s.space.Partition(keys.KindStock, sku)
	var h map[string]string
	var err error
	if durable {
		var cmd *redis.MapStringStringCmd
		err = s.readDurable(ctx, "get stock", c, s.ks.stock(p, sku), func(pipe redis.Pipeliner) {
			cmd = pipe.HGetAll(ctx, s.ks.stock(p, sku))
		})
		if err != nil {
			return missing, err
		}
		h, err = cmd.Result()
	} else {
		h, err = c.HGetAll(ctx, s.ks.stock(p, sku)).Result()
	}
	if err != nil {
		return missing, s.classify("get stock", err)
	}
	if len(h) == 0 {
		return missing, fmt.Errorf("%w: sku %q", store.ErrNotFound, sku)
	}
	return stockFromHash(sku, h)
}

// maxQty bounds quantities so every sum the scripts compute stays an exact
// integer in Lua's doubles (2^53).
const maxQty = 1 << 50

func checkStockArgs(sku, warehouse string) error {
	if !keys.ValidSKU(sku) {
		return fmt.Errorf("%w: sku %q", store.ErrInvalid, sku)
	}
	if !keys.ValidWarehouse(warehouse) {
		return fmt.Errorf("%w: warehouse %q", store.ErrInvalid, warehouse)
	}
	return nil
}

func stockFromReply(sku string, rest []any) (store.StockView, error) {
	hv, err := at(rest, 0)
	if err != nil {
		return store.StockView{}, err
	}
	h, err := toHash(hv)
	if err != nil {
		return store.StockView{}, err
	}
	return stockFromHash(sku, h)
}

// stockFromHash builds a view from the stock hash: "v", "h:<wh>" on hand,
// "r:<wh>" reserved.
func stockFromHash(sku string, h map[string]string) (store.StockView, error) {
	view := store.StockView{SKU: sku, Warehouses: map[string]store.WarehouseStock{}}
	var err error
	if view.Version, err = toVersion(h["v"]); err != nil {
		return store.StockView{}, err
	}
	for f, val := range h {
		wh, ok := strings.CutPrefix(f, "h:")
		if !ok {
			continue
		}
		oh, err := toInt(val)
		if err != nil {
			return store.StockView{}, err
		}
		var r int64
		if rv, ok := h["r:"+wh]; ok {
			if r, err = toInt(rv); err != nil {
				return store.StockView{}, err
			}
		}
		ws := store.WarehouseStock{OnHand: oh, Reserved: r, Available: max(oh-r, 0)}
		view.Warehouses[wh] = ws
		view.Available += ws.Available
	}
	return view, nil
}

// claimIdem claims an idempotency key for one request (its fingerprint)
// in the key's own partition: ErrIdempotencyMismatch if another request
// holds it.
func (s *Store) claimIdem(ctx context.Context, key, fp string) error {
	ip := store.IdempotencyPartition(s.space, key)
	v, err := s.run(ctx, scriptIdemClaim, []string{s.ks.idemClaim(ip, key)}, fp, s.cfg.IdempotencyTTL.Milliseconds())
	if err != nil {
		return err
	}
	if tag, _, err := replyOf(v); err != nil || tag != "ok" {
		if err == nil && tag == "mismatch" {
			err = fmt.Errorf("%w: key %q", store.ErrIdempotencyMismatch, key)
		}
		if err == nil {
			err = fmt.Errorf("redisstore: idempotency claim: unexpected reply %q", tag)
		}
		return err
	}
	return nil
}
