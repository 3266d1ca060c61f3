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
	hkeys := make([]string, len(codes))
	for i, code := range codes {
		out[i] = store.Link{Code: code}
		if keys.ValidCode(code) {
			hkeys[i] = s.ks.link(s.space.Partition(keys.KindLink, code), code)
		}
	}
	hs, errs := s.hgetAll(ctx, "get links", hkeys)
	for i, code := range codes {
		switch {
		case hkeys[i] == "":
			errs[i] = fmt.Errorf("%w: link %q", store.ErrNotFound, code)
		case errs[i] != nil:
		default:
			l, live, err := linkFromHash(code, hs[i])
			switch {
			case err != nil:
				errs[i] = err
			case !live:
				out[i], errs[i] = l, fmt.Errorf("%w: link %q", store.ErrNotFound, code)
			default:
				out[i] = l
			}
		}
	}
	return out, errs
}

// GetStocks is GetStock for many SKUs in one pipeline (store.BatchReader).
func (s *Store) GetStocks(ctx context.Context, skus []string) ([]store.StockView, []error) {
	out := make([]store.StockView, len(skus))
	hkeys := make([]string, len(skus))
	for i, sku := range skus {
		out[i] = store.StockView{SKU: sku, Warehouses: map[string]store.WarehouseStock{}}
		if keys.ValidSKU(sku) {
			hkeys[i] = s.ks.stock(s.space.Partition(keys.KindStock, sku), sku)
		}
	}
	hs, errs := s.hgetAll(ctx, "get stocks", hkeys)
	for i, sku := range skus {
		switch {
		case hkeys[i] == "" || errs[i] == nil && len(hs[i]) == 0:
			errs[i] = fmt.Errorf("%w: sku %q", store.ErrNotFound, sku)
		case errs[i] != nil:
		default:
			out[i], errs[i] = stockFromHash(sku, hs[i])
		}
	}
	return out, errs
}

// hgetAll reads the hashes at hkeys ("" skipped) from the read client in
// one pipeline: per key its fields or the read's error.
func (s *Store) hgetAll(ctx context.Context, op string, hkeys []string) ([]map[string]string, []error) {
	hs := make([]map[string]string, len(hkeys))
	errs := make([]error, len(hkeys))
	if s.closed.Load() {
		for i := range errs {
			errs[i] = s.classify(op, redis.ErrClosed)
		}
		return hs, errs
	}
	cmds := make([]*redis.MapStringStringCmd, len(hkeys))
	pipe := s.ro.Pipeline()
	for i, k := range hkeys {
		if k != "" {
			cmds[i] = pipe.HGetAll(ctx, k)
		}
	}
	if pipe.Len() > 0 {
		_, _ = pipe.Exec(ctx) // each command carries its own error
	}
	for i, cmd := range cmds {
		if cmd != nil {
			if hs[i], errs[i] = cmd.Result(); errs[i] != nil {
				errs[i] = s.classify(op, errs[i])
			}
		}
	}
	return hs, errs
}
