package origin

import (
	"context"
	"errors"

	"github.com/shortstock/shortstock/origin/store"
)

// adminGetLink reads a link for the admin API from the primary when the
// store has one: a client that writes and then reads back through the
// admin API sees its write, however far behind a replica is.
func (s *Server) adminGetLink(ctx context.Context, code string) (store.Link, error) {
	if pr, ok := s.store.(store.PrimaryReader); ok {
		l, err := pr.GetLinkPrimary(ctx, code)
		return s.coldFallback(ctx, code, l, err)
	}
	l, err := s.store.GetLink(ctx, code)
	return s.coldFallback(ctx, code, l, err)
}

// adminGetStock is adminGetLink for stock views.
func (s *Server) adminGetStock(ctx context.Context, sku string) (store.StockView, error) {
	if pr, ok := s.store.(store.PrimaryReader); ok {
		return pr.GetStockPrimary(ctx, sku)
	}
	return s.store.GetStock(ctx, sku)
}

// fetchLink reads a link for an edge: the plain read (a replica's, maybe),
// repeated on the primary when it is older than minVersion, the version
// the edge already knows of from an invalidation.
func (s *Server) fetchLink(ctx context.Context, code string, minVersion uint64) (store.Link, error) {
	l, err := s.store.GetLink(ctx, code)
	if pr, ok := s.store.(store.PrimaryReader); ok && l.Version < minVersion && (err == nil || errors.Is(err, store.ErrNotFound)) {
		s.metrics.primaryReads.Inc()
		l, err = pr.GetLinkPrimary(ctx, code)
	}
	return s.coldFallback(ctx, code, l, err)
}

// fetchStock is fetchLink for stock views.
func (s *Server) fetchStock(ctx context.Context, sku string, minVersion uint64) (store.StockView, error) {
	v, err := s.store.GetStock(ctx, sku)
	if pr, ok := s.store.(store.PrimaryReader); ok && v.Version < minVersion && (err == nil || errors.Is(err, store.ErrNotFound)) {
		s.metrics.primaryReads.Inc()
		return pr.GetStockPrimary(ctx, sku)
	}
	return v, err
}
