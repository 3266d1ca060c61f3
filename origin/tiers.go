package origin

import (
	"context"
	"errors"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shortstock/shortstock/origin/adminsec"
	"github.com/shortstock/shortstock/origin/store"
)

// ColdTier is the cold tier of links (origin/tiering implements it;
// cmd/shortstock wires it when --cold-after is set). Without one nothing
// changes: a hot miss is a miss.
type ColdTier interface {
	// Lookup answers a hot miss (ErrNotFound at Version 0): the cold
	// copy, promoted back hot at its own version; store.ErrNotFound; or an
	// error wrapping store.ErrUnavailable (503) when the cold store cannot
	// answer.
	Lookup(ctx context.Context, code string) (store.Link, error)
	// EnsureHot promotes code if it is cold (before a PATCH or DELETE).
	EnsureHot(ctx context.Context, code string) error
	// MaybeCold reports, from memory alone, whether code may be in the
	// cold tier (a filter of a loaded segment says so).
	MaybeCold(code string) bool
	// CreateLink creates a link unless its code is taken in either tier.
	CreateLink(ctx context.Context, l store.NewLink) (store.Link, error)
	// Stats reports both tiers and the last mover pass.
	Stats(ctx context.Context) (store.TierStats, error)
	// RunNow starts a mover pass now.
	RunNow()
	// Collectors are its metrics; the origin registers them.
	Collectors() []prometheus.Collector
}

// coldFallback turns a hot miss into a cold lookup when there is a cold
// tier. Tombstones (Version > 0) stay hot: a deleted link is never read
// from the cold tier.
func (s *Server) coldFallback(ctx context.Context, code string, l store.Link, err error) (store.Link, error) {
	if s.cfg.Cold == nil || err == nil || !errors.Is(err, store.ErrNotFound) || l.Version != 0 {
		return l, err
	}
	cl, cerr := s.cfg.Cold.Lookup(ctx, code)
	if cerr != nil {
		if errors.Is(cerr, store.ErrNotFound) {
			return l, err
		}
		return store.Link{Code: code}, cerr
	}
	return cl, nil
}

// promoteClicked brings the cold links of a click batch back hot before
// the clicks are counted: an edge serves a link from its cache long after
// the origin moved it, and its clicks would otherwise be dropped (a hot
// store counts only the links it holds). A link that was clicked is not
// cold. Only codes a cold filter may hold cost a hot read; a cold store
// that cannot answer loses those codes' clicks, never the batch.
func (s *Server) promoteClicked(ctx context.Context, counts map[string]int64) {
	if s.cfg.Cold == nil {
		return
	}
	for code := range counts {
		if !s.cfg.Cold.MaybeCold(code) {
			continue
		}
		if err := s.cfg.Cold.EnsureHot(ctx, code); err != nil {
			s.metrics.coldClicksLost.Add(float64(counts[code]))
			s.log.Warn("clicks of a cold link not counted: promoting it failed", "code", code, "err", err)
		}
	}
}

// createLink creates through the cold tier's guard when there is one.
func (s *Server) createLinkTiered(ctx context.Context, nl store.NewLink) (store.Link, error) {
	if s.cfg.Cold != nil {
		return s.cfg.Cold.CreateLink(ctx, nl)
	}
	return s.store.CreateLink(ctx, nl)
}

// ensureHot promotes a cold link before a write to it.
func (s *Server) ensureHot(ctx context.Context, code string) error {
	if s.cfg.Cold == nil {
		return nil
	}
	return s.cfg.Cold.EnsureHot(ctx, code)
}

func (s *Server) registerCold() error {
	if s.cfg.Cold == nil {
		return nil
	}
	reg := prometheus.WrapRegistererWith(prometheus.Labels{"region": s.cfg.Region}, s.cfg.Registerer)
	for _, c := range s.cfg.Cold.Collectors() {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

type tiersAnswer struct {
	Enabled bool `json:"enabled"`
	store.TierStats
}

// getTiers answers GET /v1/tiers: links and bytes per tier, segment count
// and the last mover pass. Without a cold tier the cold side is zero.
func (s *Server) getTiers(w http.ResponseWriter, r *http.Request) {
	var out tiersAnswer
	if s.cfg.Cold != nil {
		st, err := s.cfg.Cold.Stats(r.Context())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out = tiersAnswer{Enabled: true, TierStats: st}
	} else if cl, ok := s.store.(store.ColdLinks); ok {
		hs, err := cl.HotStats(r.Context())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out.Hot.Links, out.Hot.Bytes = hs.Links, hs.Bytes
	}
	writeJSON(w, http.StatusOK, out)
}

// runTiers answers POST /v1/tiers/run: a mover pass starts now (202).
func (s *Server) runTiers(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Cold == nil {
		s.writeError(w, r, &apiError{http.StatusNotImplemented, "not_implemented", "the cold tier is off (start the origin with --cold-after)"})
		return
	}
	s.cfg.Cold.RunNow()
	writeJSON(w, http.StatusAccepted, map[string]bool{"started": true})
}

func (s *Server) tierRoutes(admin func(string, adminsec.Resource, http.HandlerFunc)) {
	admin("GET /v1/tiers", adminsec.ResLinks, s.noBody(s.getTiers))
	admin("POST /v1/tiers/run", adminsec.ResLinks, s.noBody(s.runTiers))
}
