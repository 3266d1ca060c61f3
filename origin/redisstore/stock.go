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
	if err := checkStockArgs(sku, warehouse); err != nil {
		return store.StockView{}, err
	}
	if onHand < 0 || onHand > maxQty {
		return store.StockView{}, fmt.Errorf("%w: on_hand %d outside 0..%d", store.ErrInvalid, onHand, maxQty)
	}
	v, err := s.stockWrite(ctx, scriptStockSet, sku, warehouse, onHand)
	if err != nil {
		return store.StockView{}, err
	}
	tag, rest, err := replyOf(v)
	if err != nil {
		return store.StockView{}, err
	}
	switch tag {
	case "ok":
		return stockFromReply(sku, rest)
	case "below":
		return store.StockView{}, fmt.Errorf("%w: %s/%s", store.ErrBelowReserved, sku, warehouse)
	}
	return store.StockView{}, fmt.Errorf("%w: set stock: tag %q", errBadReply, tag)
}

// AdjustStock adds delta to on_hand.
func (s *Store) AdjustStock(ctx context.Context, sku, warehouse string, delta int64) (store.StockView, error) {
	if err := checkStockArgs(sku, warehouse); err != nil {
		return store.StockView{}, err
	}
	if delta < -maxQty || delta > maxQty {
		return store.StockView{}, fmt.Errorf("%w: delta %d outside ±%d", store.ErrInvalid, delta, maxQty)
	}
	v, err := s.stockWrite(ctx, scriptStockAdjust, sku, warehouse, delta)
	if err != nil {
		return store.StockView{}, err
	}
	tag, rest, err := replyOf(v)
	if err != nil {
		return store.StockView{}, err
	}
	switch tag {
	case "ok":
		return stockFromReply(sku, rest)
	case "insufficient":
		return store.StockView{}, fmt.Errorf("%w: %s/%s", store.ErrInsufficientStock, sku, warehouse)
	case "nf":
		return store.StockView{SKU: sku}, fmt.Errorf("%w: stock %s/%s", store.ErrNotFound, sku, warehouse)
	}
	return store.StockView{}, fmt.Errorf("%w: adjust stock: tag %q", errBadReply, tag)
}

func (s *Store) stockWrite(ctx context.Context, sc *script, sku, warehouse string, n int64) (any, error) {
	p := keys.Partition(keys.KindStock, sku)
	return s.run(ctx, sc,
		[]string{s.ks.stock(p, sku), s.ks.seq(p), s.ks.log(p)},
		keys.Key(keys.KindStock, sku), s.nowMs(), s.cfg.ChangeStreamMaxLen, warehouse, n)
}

// GetStock returns the stock view, or ErrNotFound (Version 0: SKUs are
// never deleted) for an unknown SKU.
func (s *Store) GetStock(ctx context.Context, sku string) (store.StockView, error) {
	return s.getStock(ctx, s.ro, sku)
}

// GetStockPrimary is GetStock from the master, never a replica.
func (s *Store) GetStockPrimary(ctx context.Context, sku string) (store.StockView, error) {
	return s.getStock(ctx, s.primary, sku)
}

func (s *Store) getStock(ctx context.Context, c redis.UniversalClient, sku string) (store.StockView, error) {
	missing := store.StockView{SKU: sku, Warehouses: map[string]store.WarehouseStock{}}
	if !keys.ValidSKU(sku) {
		return missing, fmt.Errorf("%w: sku %q", store.ErrNotFound, sku)
	}
	if s.closed.Load() {
		return missing, s.classify("get stock", redis.ErrClosed)
	}
	p := keys.Partition(keys.KindStock, sku)
	h, err := c.HGetAll(ctx, s.ks.stock(p, sku)).Result()
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
