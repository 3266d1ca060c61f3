package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/shortstock/shortstock/edge"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin"
	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/origin/store"
	"github.com/shortstock/shortstock/topology"
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
	// EdgeCacheBytes is each embedded edge's cache budget (0: not
	// embedded, the edges' own).
	EdgeCacheBytes int64 `json:"edge_cache_bytes,omitempty"`
}

// edgeCacheBytes sizes an embedded edge's cache to the run's key set, as
// an operator sizes it to the working set: about 2 KiB per key (the
// answer, ristretto's bookkeeping and its admission counters, which
// ristretto sizes from the budget), at least 8 MiB, at most the edge's
// 256 MiB default. With the default on each of 30 edges in one process,
// the counters alone (~29 MB per edge, read on every hit) would measure
// cache misses of the CPU rather than the system.
func edgeCacheBytes(keys int) int64 {
	return min(max(int64(keys)*2048, 8<<20), 256<<20)
}

// ReadTopologyFile reads the JSON `shortstock demo --topology-file` writes.
func ReadTopologyFile(path string) (Targets, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Targets{}, fmt.Errorf("%w: %w", ErrTarget, err)
	}
	t, err := ParseTopology(b)
	if err != nil {
		// One sentinel, one line: "...: topology file F: <what is wrong>".
		return Targets{}, fmt.Errorf("%w: topology file %s: %s", ErrTarget, path, strings.TrimPrefix(err.Error(), ErrTarget.Error()+": "))
	}
	return t, nil
}

// maxTopologyBytes bounds a topology file: a real one is a few KiB.
const maxTopologyBytes = 1 << 20

// ParseTopology decodes a topology description (the JSON of `shortstock
// demo --topology-file`) into Targets. Every edge and origin must be a base
// URL like http://127.0.0.1:8080; errors wrap ErrTarget.
func ParseTopology(b []byte) (Targets, error) {
	if len(b) > maxTopologyBytes {
		return Targets{}, fmt.Errorf("%w: larger than %d bytes", ErrTarget, maxTopologyBytes)
	}
	var d topology.Description
	if err := json.Unmarshal(b, &d); err != nil {
		return Targets{}, fmt.Errorf("%w: %w", ErrTarget, err)
	}
	t := Targets{AdminKey: d.AdminKey, Source: "topology-file", Regions: len(d.Regions)}
	for _, r := range d.Regions {
		t.Origins = append(t.Origins, r.Origin)
		t.Edges = append(t.Edges, r.Edges...)
	}
	if len(t.Edges) == 0 || len(t.Origins) == 0 || t.AdminKey == "" {
		return Targets{}, fmt.Errorf("%w: names no edges, no origins or no admin key", ErrTarget)
	}
	for _, u := range append(append([]string(nil), t.Edges...), t.Origins...) {
		if _, _, err := parseBase(u); err != nil {
			return Targets{}, fmt.Errorf("%w: %w", ErrTarget, err)
		}
	}
	return t, nil
}

// embeddedTopology is a topology the run started in this process, on an
// embedded store in a temporary directory of its own.
type embeddedTopology struct {
	topo  *topology.Topology
	store store.Store
	dir   string
	muted *atomic.Bool // the nodes' logs
}

// seedFunc creates the run's keys through the admin API of the origin at
// base, with adminKey.
type seedFunc func(base, adminKey string) error

// startEmbedded starts a topology of regions x edges in this process and
// waits until it is ready. The keys are seeded first, through the admin
// API of an origin on the same store that is not yet in any gossip pool:
// the data exists before the nodes start, as in a deployment that has
// been running a while. Seeding the live topology would queue one gossip
// broadcast per key on every node, a backlog that takes minutes to drain
// (see settleGossip) and that the measurement would then include.
func startEmbedded(ctx context.Context, regions, edges, partitions, keyCount int, log *slog.Logger, seed seedFunc) (_ *embeddedTopology, _ Targets, err error) {
	nodeLog, muted := newMutable(log)
	e := &embeddedTopology{muted: muted}
	if e.dir, err = os.MkdirTemp("", "shortstock-bench-"); err != nil {
		return nil, Targets{}, fmt.Errorf("%w: %w", ErrTarget, err)
	}
	defer func() {
		if err != nil {
			_ = e.stop() // the first error is the one to report
		}
	}()
	sc := embedded.DefaultConfig(e.dir)
	if partitions > 0 {
		sc.Partitions = partitions
	}
	if e.store, err = embedded.Open(sc); err != nil {
		return nil, Targets{}, fmt.Errorf("%w: embedded store: %w", ErrTarget, err)
	}
	adminKey := "bench-" + keys.RandomCode(32)
	// The bench is the one admin client and means to load the origins:
	// their abuse limits (1000/s per key and per IP) would measure
	// themselves, not the system.
	tune := func(c *origin.Config) { c.KeyRate, c.IPRate = -1, -1 }

	oc := origin.DefaultConfig()
	oc.Store, oc.AdminKeys = e.store, []string{adminKey}
	oc.InternalInsecure = true // seeding only: no edge ever calls it
	tune(&oc)
	staging, err := topology.StartOrigin(topology.OriginOptions{Origin: oc, Listen: "127.0.0.1:0", Logger: nodeLog})
	if err != nil {
		return nil, Targets{}, fmt.Errorf("%w: seeding origin: %w", ErrTarget, err)
	}
	err = seed(staging.URL, adminKey)
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if serr := staging.Shutdown(sctx); err == nil && serr != nil {
		err = fmt.Errorf("%w: seeding origin: %w", ErrTarget, serr)
	}
	if err != nil {
		return nil, Targets{}, err
	}

	e.topo, err = topology.Start(topology.Config{
		Regions: regions, EdgesPerRegion: edges, Logger: nodeLog, AdminKey: adminKey,
		OpenStore: func(string) (store.Store, error) { return e.store, nil },
		Origin:    func(_ string, c *origin.Config) { tune(c) },
		Edge:      func(_ string, _ int, c *edge.Config) { c.CacheBytes = edgeCacheBytes(keyCount) },
	})
	if err != nil {
		return nil, Targets{}, fmt.Errorf("%w: embedded topology: %w", ErrTarget, err)
	}
	d := e.topo.Describe()
	t := Targets{AdminKey: d.AdminKey, Source: "embedded", Regions: len(d.Regions), EdgeCacheBytes: edgeCacheBytes(keyCount)}
	for _, r := range d.Regions {
		t.Origins = append(t.Origins, r.Origin)
		t.Edges = append(t.Edges, r.Edges...)
	}
	// Ready means every edge has joined its region's gossip pool and
	// reached its origin: before that, writes would not reach it.
	if err := waitReady(ctx, append(append([]string{}, t.Origins...), t.Edges...), "/_/readyz", 30*time.Second); err != nil {
		return nil, Targets{}, err
	}
	return e, t, nil
}

// stop shuts the topology down, its nodes' logs muted (see muteHandler),
// then closes the store and removes its directory.
func (e *embeddedTopology) stop() error {
	e.muted.Store(true)
	var errs []error
	if e.topo != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		errs = append(errs, e.topo.Shutdown(ctx)) // closes the store too
	}
	if e.store != nil {
		errs = append(errs, e.store.Close()) // idempotent; the topology may not have started
	}
	return errors.Join(append(errs, os.RemoveAll(e.dir))...)
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
			st, _, err := h.hc.GetDeadline(nil, h.base+path, earlier(deadline, time.Now().Add(2*time.Second)))
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
