package edge

// The staleness bound (X-Staleness-Bound-Ms, and Age): how far behind its
// origin an answer can be. An edge is "caught up as of T" when it has
// applied every change its origin's change log held at T: it asked the
// origin for its heads at T and has since applied every partition up to
// them. Then any answer it gives at now is behind by at most now - T. The
// heads poll (HeadsPollInterval) and the catch-up loop move T forward;
// while the origin is unreachable T stands still and the bound grows,
// which is the truth. Before the first confirmation, T is the edge's
// start: nothing cached can be older than that.

// confirmCatchUp moves the confirmed catch-up time forward if the heads
// last expected are all applied now.
func (s *Server) confirmCatchUp() {
	at := s.marks.confirm()
	for {
		old := s.confirmedAt.Load()
		if at <= old || s.confirmedAt.CompareAndSwap(old, at) {
			return
		}
	}
}
