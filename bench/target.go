package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/shortstock/shortstock/internal/topology"
	"github.com/valyala/fasthttp"
)

// Targets are the endpoints a run loads: edges for reads, origins (and the
// admin key) for seeding, writes and the audit.
type Targets struct {
	Edges    []string `json:"edges"`
	Origins  []string `json:"origins"`
	AdminKey string   `json:"-"`
	// Source says where they came from: "embedded", "topology-file", "urls".
	Source string `json:"source"`
	// Regions is how many regions they span (0 when unknown).
	Regions int `json:"regions"`
}

// ReadTopologyFile reads the JSON `shortstock demo --topology-file` writes.
func ReadTopologyFile(path string) (Targets, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Targets{}, fmt.Errorf("%w: %w", ErrTarget, err)
	}
	var d topology.Description
	if err := json.Unmarshal(b, &d); err != nil {
		return Targets{}, fmt.Errorf("%w: topology file %s: %w", ErrTarget, path, err)
	}
	t := Targets{AdminKey: d.AdminKey, Source: "topology-file", Regions: len(d.Regions)}
	for _, r := range d.Regions {
		t.Origins = append(t.Origins, r.Origin)
		t.Edges = append(t.Edges, r.Edges...)
	}
	if len(t.Edges) == 0 || len(t.Origins) == 0 || t.AdminKey == "" {
		return Targets{}, fmt.Errorf("%w: topology file %s names no edges, no origins or no admin key", ErrTarget, path)
	}
	return t, nil
}

// startEmbedded starts the profile's topology in this process (embedded
// store in a temp dir that Shutdown removes) and waits until it is ready.
func startEmbedded(ctx context.Context, regions, edges int, log *slog.Logger) (*topology.Topology, Targets, error) {
	topo, err := topology.Start(topology.Config{Regions: regions, EdgesPerRegion: edges, Logger: log})
	if err != nil {
		return nil, Targets{}, fmt.Errorf("%w: embedded topology: %w", ErrTarget, err)
	}
	d := topo.Describe()
	t := Targets{AdminKey: d.AdminKey, Source: "embedded", Regions: len(d.Regions)}
	for _, r := range d.Regions {
		t.Origins = append(t.Origins, r.Origin)
		t.Edges = append(t.Edges, r.Edges...)
	}
	// Ready means every edge has joined its region's gossip pool and
	// reached its origin: before that, writes would not reach it.
	if err := waitReady(ctx, append(append([]string{}, t.Origins...), t.Edges...), "/_/readyz", 30*time.Second); err != nil {
		stopEmbedded(topo)
		return nil, Targets{}, err
	}
	return topo, t, nil
}

func stopEmbedded(topo *topology.Topology) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return topo.Shutdown(ctx)
}

// waitReady polls path on every base URL until each answers 200.
func waitReady(ctx context.Context, bases []string, path string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for _, b := range bases {
		h, err := newHost(b, 1)
		if err != nil {
			return err
		}
		var lastErr error
		for {
			st, _, err := h.hc.GetDeadline(nil, h.base+path, min(deadline, time.Now().Add(2*time.Second)))
			if err == nil && st == fasthttp.StatusOK {
				break
			}
			lastErr = err
			if err == nil {
				lastErr = fmt.Errorf("status %d", st)
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%w: %s%s not ready after %v: %w", ErrTarget, b, path, limit, lastErr)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
		h.hc.CloseIdleConnections()
	}
	return nil
}

// checkTargets fails fast when a given endpoint does not answer at all.
func checkTargets(ctx context.Context, t Targets) error {
	all := append(append([]string{}, t.Origins...), t.Edges...)
	return waitReady(ctx, all, "/_/healthz", 5*time.Second)
}
