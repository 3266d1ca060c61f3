package redisstore

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// GetLinks is GetLink for many codes in one pipeline (store.BatchReader).
func (s *Store) GetLinks(ctx context.Context, codes []string) ([]store.Link, []error) {
	out := make([]store.Link, len(codes))
	errs := make([]error, len(codes))
	cmds := make([]*redis.MapStringStringCmd, len(codes))
	pipe := s.ro.Pipeline()
	for i, code := range codes {
		out[i] = store.Link{Code: code}
		if !keys.ValidCode(code) {
			errs[i] = fmt.Errorf("%w: link %q", store.ErrNotFound, code)
			continue
		}
		cmds[i] = pipe.HGetAll(ctx, s.ks.link(s.space.Partition(keys.KindLink, code), code))
	}
	s.execReads(ctx, "get links", pipe, errs)
	for i, cmd := range cmds {
		if cmd == nil || errs[i] != nil {
			continue
		}
		h, err := cmd.Result()
		if err != nil {
			errs[i] = s.classify("get links", err)
			continue
		}
		l, live, err := linkFromHash(codes[i], h)
		switch {
		case err != nil:
			errs[i] = err
		case !live:
			out[i], errs[i] = l, fmt.Errorf("%w: link %q", store.ErrNotFound, codes[i])
		default:
			out[i] = l
		}
	}
	return out, errs
}

// GetStocks is GetStock for many SKUs in one pipeline (store.BatchReader).
func (s *Store) GetStocks(ctx context.Context, skus []string) ([]store.StockView, []error) {
	out := make([]store.StockView, len(skus))
	errs := make([]error, len(skus))
	cmds := make([]*redis.MapStringStringCmd, len(skus))
	pipe := s.ro.Pipeline()
	for i, sku := range skus {
		out[i] = store.StockView{SKU: sku, Warehouses: map[string]store.WarehouseStock{}}
		if !keys.ValidSKU(sku) {
			errs[i] = fmt.Errorf("%w: sku %q", store.ErrNotFound, sku)
			continue
		}
		cmds[i] = pipe.HGetAll(ctx, s.ks.stock(s.space.Partition(keys.KindStock, sku), sku))
	}
	s.execReads(ctx, "get stocks", pipe, errs)
	for i, cmd := range cmds {
		if cmd == nil || errs[i] != nil {
			continue
		}
		h, err := cmd.Result()
		switch {
		case err != nil:
			errs[i] = s.classify("get stocks", err)
		case len(h) == 0:
			errs[i] = fmt.Errorf("%w: sku %q", store.ErrNotFound, skus[i])
		default:
			out[i], errs[i] = stockFromHash(skus[i], h)
		}
	}
	return out, errs
}

// execReads runs a pipeline of reads; if it cannot run at all, every key
// not already failed gets the error (each command's own error is read
// from its command).
func (s *Store) execReads(ctx context.Context, op string, pipe redis.Pipeliner, errs []error) {
	if pipe.Len() == 0 {
		return
	}
	if s.closed.Load() {
		fail(errs, s.classify(op, redis.ErrClosed))
		return
	}
	if _, err := pipe.Exec(ctx); err != nil && ctx.Err() != nil {
		fail(errs, s.classify(op, err))
	}
}

func fail(errs []error, err error) {
	for i := range errs {
		if errs[i] == nil {
			errs[i] = err
		}
	}
}
