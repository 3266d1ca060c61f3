package embedded

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

const (
	// maxQty bounds one quantity (on_hand set, delta, reservation), as the
	// Redis backend does; the admin API's own limit is lower.
	maxQty = 1 << 50
	// maxOnHand bounds a warehouse's on_hand, so sums never overflow and
	// the record format's limit is never reached.
	maxOnHand = 1 << 60
)

// getStock reads a SKU's stock from a stock bucket; nil for an unknown
// SKU.
func getStock(stock *bolt.Bucket, sku string) (*stockRec, error) {
	v := stock.Get([]byte(sku))
	if v == nil {
		return nil, nil
	}
	r, err := decodeStock(v)
	if err != nil {
		return nil, fmt.Errorf("stock %q: %w", sku, err)
	}
	return &r, nil
}

// putStock bumps the SKU's version, stores it and appends its change:
// every stock write goes through here.
func (s *Store) putStock(pt *part, sku string, r *stockRec) error {
	r.version++
	if err := pt.stock.Put([]byte(sku), r.encode()); err != nil {
		return err
	}
	return s.appendChange(pt, keys.Key(keys.KindStock, sku), r.version)
}

func checkStockArgs(sku, warehouse string) error {
	if !keys.ValidSKU(sku) {
		return fmt.Errorf("%w: sku %q", store.ErrInvalid, sku)
	}
	if !keys.ValidWarehouse(warehouse) {
		return fmt.Errorf("%w: warehouse %q", store.ErrInvalid, warehouse)
	}
	return nil
}

// stockWrite runs the common shape of SetStock and AdjustStock: load (or
// start) the SKU's stock, let apply check and change it, then store it.
// apply returns a domain error to refuse, leaving everything unchanged.
func (s *Store) stockWrite(ctx context.Context, op, sku string, apply func(r *stockRec, exists bool) error) (store.StockView, error) {
	p := keys.Partition(keys.KindStock, sku)
	var out store.StockView
	var derr error
	err := s.write(ctx, op, func(tx *bolt.Tx) error {
		out, derr = store.StockView{}, nil
		pt, err := partOf(tx, p)
		if err != nil {
			return err
		}
		r, err := getStock(pt.stock, sku)
		if err != nil {
			return err
		}
		exists := r != nil
		if !exists {
			r = &stockRec{}
		}
		if derr = apply(r, exists); derr != nil {
			derr = fmt.Errorf("embedded: %s: %w", op, derr)
			return nil
		}
		if err := s.putStock(pt, sku, r); err != nil {
			return err
		}
		out = r.view(sku)
		return nil
	})
	if err != nil {
		return store.StockView{}, err
	}
	return out, derr
}

// SetStock sets on_hand of sku in warehouse, creating either.
func (s *Store) SetStock(ctx context.Context, sku, warehouse string, onHand int64) (store.StockView, error) {
	if err := checkStockArgs(sku, warehouse); err != nil {
		return store.StockView{}, fmt.Errorf("embedded: set stock: %w", err)
	}
	if onHand < 0 || onHand > maxQty {
		return store.StockView{}, fmt.Errorf("embedded: set stock: %w: on_hand %d outside 0..%d", store.ErrInvalid, onHand, int64(maxQty))
	}
	return s.stockWrite(ctx, "set stock", sku, func(r *stockRec, _ bool) error {
		w := r.ensure(warehouse)
		if onHand < w.reserved {
			return fmt.Errorf("%w: %s/%s: %d reserved", store.ErrBelowReserved, sku, warehouse, w.reserved)
		}
		w.onHand = onHand
		return nil
	})
}

// AdjustStock adds delta to on_hand. A positive delta creates the SKU or
// warehouse; a negative one on a missing one is not found.
func (s *Store) AdjustStock(ctx context.Context, sku, warehouse string, delta int64) (store.StockView, error) {
	if err := checkStockArgs(sku, warehouse); err != nil {
		return store.StockView{}, fmt.Errorf("embedded: adjust stock: %w", err)
	}
	if delta < -maxQty || delta > maxQty {
		return store.StockView{}, fmt.Errorf("embedded: adjust stock: %w: delta %d outside ±%d", store.ErrInvalid, delta, int64(maxQty))
	}
	view, err := s.stockWrite(ctx, "adjust stock", sku, func(r *stockRec, exists bool) error {
		if _, ok := r.find(warehouse); !ok && delta < 0 {
			return fmt.Errorf("%w: stock %s/%s", store.ErrNotFound, sku, warehouse)
		}
		w := r.ensure(warehouse)
		n := w.onHand + delta
		if n < 0 || n < w.reserved {
			return fmt.Errorf("%w: %s/%s: on_hand %d%+d with %d reserved", store.ErrInsufficientStock, sku, warehouse, w.onHand, delta, w.reserved)
		}
		if n > maxOnHand {
			return fmt.Errorf("%w: on_hand of %s/%s would exceed %d", store.ErrInvalid, sku, warehouse, int64(maxOnHand))
		}
		w.onHand = n
		return nil
	})
	if err != nil && view.SKU == "" {
		view.SKU = sku
	}
	return view, err
}

// GetStock returns the stock view, or ErrNotFound (Version 0: SKUs are
// never deleted) for an unknown SKU.
func (s *Store) GetStock(ctx context.Context, sku string) (store.StockView, error) {
	missing := store.StockView{SKU: sku, Warehouses: map[string]store.WarehouseStock{}}
	if !keys.ValidSKU(sku) {
		return missing, fmt.Errorf("embedded: get stock: %w: sku %q", store.ErrNotFound, sku)
	}
	var out *store.StockView
	err := s.view(ctx, "get stock", func(tx *bolt.Tx) error {
		out = nil
		stock, err := subOf(tx, keys.Partition(keys.KindStock, sku), bucketStock)
		if err != nil {
			return err
		}
		r, err := getStock(stock, sku)
		if err != nil || r == nil {
			return err
		}
		v := r.view(sku)
		out = &v
		return nil
	})
	if err != nil {
		return missing, err
	}
	if out == nil {
		return missing, fmt.Errorf("embedded: get stock: %w: sku %q", store.ErrNotFound, sku)
	}
	return *out, nil
}
