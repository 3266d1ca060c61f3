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

// putStock bumps the SKU's version, stores it, appends its change and its
// movements: every stock write goes through here, so the ledger and the
// view are written in one transaction.
func (s *Store) putStock(pt *part, sku string, r *stockRec, meta moveMeta, moves ...whMove) error {
	r.version++
	if err := pt.stock.Put([]byte(sku), r.encode()); err != nil {
		return err
	}
	if err := s.appendMoves(pt, sku, r, meta, moves); err != nil {
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

// SetStock sets on_hand of sku in warehouse, creating either.
func (s *Store) SetStock(ctx context.Context, sku, warehouse string, onHand int64) (store.StockView, error) {
	return s.WriteStock(ctx, store.StockWrite{Op: store.OpSet, SKU: sku, Warehouse: warehouse, Qty: onHand})
}

// AdjustStock adds delta to on_hand. A positive delta creates the SKU or
// warehouse; a negative one on a missing one is not found.
func (s *Store) AdjustStock(ctx context.Context, sku, warehouse string, delta int64) (store.StockView, error) {
	return s.WriteStock(ctx, store.StockWrite{Op: store.OpAdjust, SKU: sku, Warehouse: warehouse, Qty: delta})
}

// WriteStock runs a set, adjust or transfer and records its movements in
// the same transaction.
func (s *Store) WriteStock(ctx context.Context, w store.StockWrite) (store.StockView, error) {
	op := w.Op + " stock"
	if err := checkWrite(&w); err != nil {
		return store.StockView{}, fmt.Errorf("embedded: %s: %w", op, err)
	}
	meta := moveMeta{reason: w.Reason, ref: w.Ref, actor: w.Actor, ik: w.IdempotencyKey}
	p := s.space.Partition(keys.KindStock, w.SKU)
	var out store.StockView
	var derr error
	err := s.write(ctx, op, func(tx *bolt.Tx) error {
		out, derr = store.StockView{}, nil
		// Only what a stock write touches (putStock: stock, the log, the
		// ledger's tail outside the partition; the idempotency records).
		pt, err := partWith(tx, p, subStock|subLog)
		if err != nil {
			return err
		}
		var ipt *part
		now := utc(s.cfg.Clock.Now())
		if w.IdempotencyKey != "" {
			if ipt, err = partWith(tx, store.IdempotencyPartition(s.space, w.IdempotencyKey), subIdem|subIdemAge); err != nil {
				return err
			}
			if v := ipt.idem.Get(stockIdemKey(w.IdempotencyKey)); v != nil {
				rec, err := decodeStockIdem(v)
				if err != nil {
					return fmt.Errorf("idempotency record %q: %w", w.IdempotencyKey, err)
				}
				var seen bool
				if out, seen, derr = s.replayStockWrite(&rec, &w, now); seen {
					if derr != nil {
						derr = fmt.Errorf("embedded: %s: key %q: %w", op, w.IdempotencyKey, derr)
					}
					return nil
				}
			}
		}
		r, err := getStock(pt.stock, w.SKU)
		if err != nil {
			return err
		}
		if r == nil {
			r = &stockRec{}
		}
		var moves []whMove
		if moves, derr = applyStockWrite(r, &w); derr != nil {
			derr = fmt.Errorf("embedded: %s: %w", op, derr)
			return nil
		}
		if err := s.putStock(pt, w.SKU, r, meta, moves...); err != nil {
			return err
		}
		if ipt != nil {
			ik := stockIdemKey(w.IdempotencyKey)
			rec := stockIdemRec{fp: w.Fingerprint(), stock: r.encode(), at: now}
			if err := ipt.idem.Put(ik, rec.encode()); err != nil {
				return err
			}
			if err := ipt.idemAge.Put(append(appendTimeKey(make([]byte, 0, timeKeyLen+len(ik)), now), ik...), nil); err != nil {
				return err
			}
		}
		out = r.view(w.SKU)
		return nil
	})
	if err != nil {
		return store.StockView{}, err
	}
	if derr != nil && out.SKU == "" {
		out.SKU = w.SKU
	}
	return out, derr
}

// checkWrite validates a stock write before any transaction: the same
// checks for a synchronous write and a bulk job's line.
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
		return fmt.Errorf("%w: on_hand %d outside 0..%d", store.ErrInvalid, w.Qty, int64(maxQty))
	case w.Qty < -maxQty || w.Qty > maxQty:
		return fmt.Errorf("%w: quantity %d outside ±%d", store.ErrInvalid, w.Qty, int64(maxQty))
	}
	return nil
}

// applyStockWrite checks w against r and changes r, returning the
// movements; a domain error refuses and leaves the stored record alone.
func applyStockWrite(r *stockRec, w *store.StockWrite) ([]whMove, error) {
	if w.IfVersion != 0 && r.version != w.IfVersion {
		return nil, fmt.Errorf("%w: %s is at version %d (0: no such SKU), not %d", store.ErrVersionMismatch, w.SKU, r.version, w.IfVersion)
	}
	switch w.Op {
	case store.OpSet:
		wh := r.ensure(w.Warehouse)
		if w.Qty < wh.reserved {
			return nil, fmt.Errorf("%w: %s/%s: %d reserved", store.ErrBelowReserved, w.SKU, w.Warehouse, wh.reserved)
		}
		d := w.Qty - wh.onHand
		wh.onHand = w.Qty
		return []whMove{{warehouse: w.Warehouse, kind: store.KindSet, dOnHand: d}}, nil
	case store.OpAdjust:
		if _, ok := r.find(w.Warehouse); !ok && w.Qty < 0 {
			return nil, fmt.Errorf("%w: stock %s/%s", store.ErrNotFound, w.SKU, w.Warehouse)
		}
		wh := r.ensure(w.Warehouse)
		n := wh.onHand + w.Qty
		if n < 0 || n < wh.reserved {
			return nil, fmt.Errorf("%w: %s/%s: on_hand %d%+d with %d reserved", store.ErrInsufficientStock, w.SKU, w.Warehouse, wh.onHand, w.Qty, wh.reserved)
		}
		if n > maxOnHand {
			return nil, fmt.Errorf("%w: on_hand of %s/%s would exceed %d", store.ErrInvalid, w.SKU, w.Warehouse, int64(maxOnHand))
		}
		wh.onHand = n
		return []whMove{{warehouse: w.Warehouse, kind: store.KindAdjust, dOnHand: w.Qty}}, nil
	}
	// Transfer: take from one warehouse's available, give to the other.
	i, ok := r.find(w.Warehouse)
	if !ok {
		return nil, fmt.Errorf("%w: stock %s/%s", store.ErrNotFound, w.SKU, w.Warehouse)
	}
	if from := r.warehouses[i]; from.onHand-from.reserved < w.Qty {
		return nil, fmt.Errorf("%w: %s/%s has %d available to transfer, not %d", store.ErrInsufficientStock, w.SKU, w.Warehouse, from.onHand-from.reserved, w.Qty)
	}
	to := r.ensure(w.To) // may move the slice: find the source again
	if to.onHand+w.Qty > maxOnHand {
		return nil, fmt.Errorf("%w: on_hand of %s/%s would exceed %d", store.ErrInvalid, w.SKU, w.To, int64(maxOnHand))
	}
	to.onHand += w.Qty
	i, _ = r.find(w.Warehouse)
	r.warehouses[i].onHand -= w.Qty
	return []whMove{
		{warehouse: w.Warehouse, kind: store.KindTransferOut, dOnHand: -w.Qty},
		{warehouse: w.To, kind: store.KindTransferIn, dOnHand: w.Qty},
	}, nil
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
		stock, err := subOf(tx, s.space.Partition(keys.KindStock, sku), bucketStock)
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
