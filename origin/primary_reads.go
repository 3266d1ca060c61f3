package origin

import "context"

// adminGetLink reads a link for the admin API from the primary when the
// store has one: a client that writes and then reads back through the
// admin API sees its write, however far behind a replica is.
func (s *Server) adminGetLink(ctx context.Context, code string) (Link, error) {
	if pr, ok := s.store.(PrimaryReader); ok {
		return pr.GetLinkPrimary(ctx, code)
	}
	return s.store.GetLink(ctx, code)
}

// adminGetStock is adminGetLink for stock views.
func (s *Server) adminGetStock(ctx context.Context, sku string) (StockView, error) {
	if pr, ok := s.store.(PrimaryReader); ok {
		return pr.GetStockPrimary(ctx, sku)
	}
	return s.store.GetStock(ctx, sku)
}
