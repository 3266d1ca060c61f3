package origin

import (
	"context"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/shortstock/shortstock/internal/wire"
)

// GET /v1/topology: every region's origin and edges as the origins know
// them, for the console's topology page and for operators. Each origin
// knows its own edges from their applied reports (receipts.go), so the
// answering origin asks its peers (PeerOrigins / SetPeers) for their
// regions, the way change receipts do; a peer that does not answer
// within peerTimeout is listed as "unreachable" under its URL. Read-only;
// any admin key may read it (like GET /v1/changes/{id}).

// Topology is the answer of GET /v1/topology.
type Topology struct {
	// Region is the answering origin's region.
	Region      string           `json:"region"`
	GeneratedAt time.Time        `json:"generated_at"`
	Regions     []TopologyRegion `json:"regions"`
}

// TopologyRegion is one region: its origin and edges.
type TopologyRegion struct {
	Name string `json:"name"`
	// Self marks the answering origin's region.
	Self bool `json:"self"`
	// Peer is the peer origin's URL (empty for Self).
	Peer   string          `json:"peer,omitempty"`
	Origin wire.OriginView `json:"origin"`
	Edges  []wire.EdgeView `json:"edges"`
}

// edgesView lists the edges that reported, with their lag behind heads
// (the origin's own read position in the change log).
func (r *receipts) edgesView(heads []uint64, now time.Time) []wire.EdgeView {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]wire.EdgeView, 0, len(r.edges))
	for _, e := range r.edges {
		v := wire.EdgeView{Edge: e.edge, State: "down", LastReportAt: time.Unix(0, e.seen).UTC()}
		if now.UnixNano()-e.seen <= int64(r.liveWindow) {
			v.State = "live"
		}
		var lastMove int64
		for p := range e.last {
			v.Applied += e.last[p]
			if p < len(heads) && heads[p] > e.last[p] {
				v.Lag += heads[p] - e.last[p]
			}
			for _, a := range e.advances[p] {
				lastMove = max(lastMove, a.at)
			}
		}
		if lastMove != 0 {
			t := time.Unix(0, lastMove).UTC()
			v.LastAppliedAt = &t
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Edge < out[j].Edge })
	return out
}

func (r *receipts) lastChange() *wire.ChangeRef {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		return nil
	}
	c := *r.last
	return &c
}

// localView is this origin's region.
func (s *Server) localView(ctx context.Context) wire.RegionView {
	heads := s.tail.heads()
	v := wire.RegionView{Name: s.cfg.Region, Origin: wire.OriginView{State: "up", LastChange: s.receipts.lastChange()}}
	for _, h := range heads {
		v.Origin.Heads += h
	}
	pctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond) // inside a peer's peerTimeout
	defer cancel()
	if err := s.store.Ping(pctx); err != nil {
		v.Origin.State = "storage_unreachable"
	}
	v.Edges = s.receipts.edgesView(heads, s.cfg.Clock.Now())
	return v
}

// internalTopology answers a peer origin.
func (s *Server) internalTopology(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.localView(r.Context()))
}

// getTopology answers GET /v1/topology.
func (s *Server) getTopology(w http.ResponseWriter, r *http.Request) {
	if q := r.URL.RawQuery; q != "" {
		s.writeError(w, r, badRequest("invalid_query", "GET /v1/topology takes no query parameters"))
		return
	}
	t := Topology{Region: s.cfg.Region, GeneratedAt: s.cfg.Clock.Now().UTC()}
	local := s.localView(r.Context())
	t.Regions = append(t.Regions, TopologyRegion{Name: local.Name, Self: true, Origin: local.Origin, Edges: local.Edges})
	peers := s.peerList()
	views := make([]wire.RegionView, len(peers))
	errs := make([]error, len(peers))
	var wg sync.WaitGroup
	for i, p := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			views[i], errs[i] = s.askTopology(r.Context(), p)
		}()
	}
	wg.Wait()
	for i, p := range peers {
		if errs[i] != nil {
			s.log.Debug("topology: peer origin did not answer", "peer", p, "err", errs[i])
			t.Regions = append(t.Regions, TopologyRegion{Name: p, Peer: p, Origin: wire.OriginView{State: "unreachable"}, Edges: []wire.EdgeView{}})
			continue
		}
		v := views[i]
		if v.Edges == nil {
			v.Edges = []wire.EdgeView{}
		}
		t.Regions = append(t.Regions, TopologyRegion{Name: v.Name, Peer: p, Origin: v.Origin, Edges: v.Edges})
	}
	// The answering region first, then the others by name.
	sort.SliceStable(t.Regions[1:], func(i, j int) bool { return t.Regions[1+i].Name < t.Regions[1+j].Name })
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) askTopology(ctx context.Context, base string) (wire.RegionView, error) {
	var v wire.RegionView
	err := s.getPeer(ctx, base, wire.PathTopology, &v)
	return v, err
}
