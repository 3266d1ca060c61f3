package edge

// ready says whether /_/readyz answers 200: the Ready hook (gossip joined)
// agrees, and an origin answered within ReadyWindow, or answers a probe of
// its heads now.
func (s *Server) ready() bool {
	if s.cfg.Ready != nil && !s.cfg.Ready() {
		return false
	}
	if s.origin.answeredWithin(s.cfg.ReadyWindow) {
		return true
	}
	ctx, cancel := s.loopContext()
	defer cancel()
	heads, err := s.fetchHeads(ctx)
	if err != nil {
		return false
	}
	s.ObserveHeads(heads)
	return true
}
