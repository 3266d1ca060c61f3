package origin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/wire"
)

// Receipts across regions: each region's edges report to their own
// origin, so GET /v1/changes/{id} asks the other regions' origins
// (PeerOrigins, or SetPeers) for their edges' states of the same changes,
// by change-log position (partition, seq): a region's log is a replica of
// the same log, so positions agree. A peer that does not answer within
// peerTimeout is listed as one "unknown" entry (edge "*") and holds
// nothing back.

const peerTimeout = 500 * time.Millisecond

// SetPeers sets the other regions' origin base URLs (for wiring that
// learns them after New).
func (s *Server) SetPeers(urls []string) {
	s.peerMu.Lock()
	s.peers = append([]string(nil), urls...)
	s.peerMu.Unlock()
}

func (s *Server) peerList() []string {
	s.peerMu.Lock()
	defer s.peerMu.Unlock()
	return s.peers
}

func encodeParts(parts []indexed) string {
	var b strings.Builder
	for i, c := range parts {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(c.partition))
		b.WriteByte('.')
		b.WriteString(strconv.FormatUint(c.seq, 10))
	}
	return b.String()
}

func decodeParts(sp keys.Space, q string) ([]indexed, bool) {
	var out []indexed
	for _, f := range strings.Split(q, ",") {
		ps, ss, ok := strings.Cut(f, ".")
		p, err1 := strconv.Atoi(ps)
		seq, err2 := strconv.ParseUint(ss, 10, 64)
		if !ok || err1 != nil || err2 != nil || !sp.Valid(p) || seq == 0 || len(out) >= maxPurgeKeys {
			return nil, false
		}
		out = append(out, indexed{partition: p, seq: seq})
	}
	return out, len(out) > 0
}

// internalReceipt answers a peer origin: this origin's edges' states.
func (s *Server) internalReceipt(w http.ResponseWriter, r *http.Request) {
	parts, ok := decodeParts(s.space, r.URL.Query().Get("parts"))
	if !ok {
		s.writeError(w, r, badRequest("invalid_parts", "parts is P.SEQ[,P.SEQ...]"))
		return
	}
	rc := s.receipts.states(parts, true, s.cfg.Clock.Now())
	out := make([]wire.EdgeState, len(rc.Edges))
	for i, e := range rc.Edges {
		out[i] = wire.EdgeState(e)
	}
	writeJSON(w, http.StatusOK, out)
}

// addPeers merges the peers' edges into rc (parts: the change's places).
func (s *Server) addPeers(ctx context.Context, rc *Receipt, parts []indexed) {
	peers := s.peerList()
	if len(peers) == 0 || len(parts) == 0 {
		return
	}
	results := make([][]wire.EdgeState, len(peers))
	errs := make([]error, len(peers))
	var wg sync.WaitGroup
	for i, p := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = s.askPeer(ctx, p, parts)
		}()
	}
	wg.Wait()
	for i, p := range peers {
		if errs[i] != nil {
			s.log.Debug("receipt: peer origin did not answer", "peer", p, "err", errs[i])
			rc.Edges = append(rc.Edges, EdgeReceipt{Region: p, Edge: "*", State: "unknown"})
			continue
		}
		for _, e := range results[i] {
			rc.Edges = append(rc.Edges, EdgeReceipt(e))
			if e.State == "pending" {
				rc.Complete = false
				rc.Pending = append(rc.Pending, e.Region+"/"+e.Edge)
			}
		}
	}
	sortReceipt(rc)
}

func (s *Server) askPeer(ctx context.Context, base string, parts []indexed) ([]wire.EdgeState, error) {
	var out []wire.EdgeState
	err := s.getPeer(ctx, base, wire.PathReceipt+"?parts="+encodeParts(parts), &out)
	return out, err
}

// maxPeerAnswer caps a peer origin's answer (a region of 64 edges is
// ~15 KiB of topology).
const maxPeerAnswer = 1 << 20

// getPeer GETs path from a peer origin's internal API with the cluster
// token, within peerTimeout, and decodes its JSON answer into out.
func (s *Server) getPeer(ctx context.Context, base, path string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, peerTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+path, nil)
	if err != nil {
		return err
	}
	if s.cfg.ClusterToken != "" {
		req.Header.Set("Authorization", "Bearer "+s.cfg.ClusterToken)
	}
	res, err := s.peerClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return json.NewDecoder(http.MaxBytesReader(nil, res.Body, maxPeerAnswer)).Decode(out)
}

// internalChangeParts answers a peer that does not know a change id.
func (s *Server) internalChangeParts(w http.ResponseWriter, r *http.Request) {
	parts, ok := s.receipts.lookup(r.URL.Query().Get("id"))
	if !ok {
		s.writeError(w, r, &apiError{http.StatusNotFound, "not_found", "unknown change id"})
		return
	}
	out := wire.ChangeParts{Parts: make([]wire.ChangePart, len(parts))}
	for i, c := range parts {
		out.Parts[i] = wire.ChangePart{P: c.partition, Seq: c.seq, AtMs: c.atMs}
	}
	writeJSON(w, http.StatusOK, out)
}

// resolveFromPeers asks the peers for the places of a change id this
// origin does not know (a purge made at another region's origin).
func (s *Server) resolveFromPeers(ctx context.Context, id string) ([]indexed, bool) {
	for _, base := range s.peerList() {
		parts, err := s.askParts(ctx, base, id)
		if err == nil && len(parts) > 0 {
			return parts, true
		}
	}
	return nil, false
}

func (s *Server) askParts(ctx context.Context, base, id string) ([]indexed, error) {
	ctx, cancel := context.WithTimeout(ctx, peerTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+wire.PathChangeParts+"?id="+url.QueryEscape(id), nil)
	if err != nil {
		return nil, err
	}
	if s.cfg.ClusterToken != "" {
		req.Header.Set("Authorization", "Bearer "+s.cfg.ClusterToken)
	}
	res, err := s.peerClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", res.StatusCode)
	}
	var cp wire.ChangeParts
	if err := json.NewDecoder(http.MaxBytesReader(nil, res.Body, 1<<20)).Decode(&cp); err != nil {
		return nil, err
	}
	out := make([]indexed, 0, len(cp.Parts))
	for _, p := range cp.Parts {
		if !s.space.Valid(p.P) || p.Seq == 0 {
			return nil, fmt.Errorf("bad part %+v", p)
		}
		out = append(out, indexed{partition: p.P, seq: p.Seq, atMs: p.AtMs})
	}
	return out, nil
}
