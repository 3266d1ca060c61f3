package bench

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"time"
)

// Run runs one benchmark: it starts (or checks) the targets, seeds the key
// set, warms the caches, finds the rate for large, offers the measured load,
// waits for the probes, audits the stock, optionally compares an edge with
// the bare server, and returns the report. With ErrOversell it returns the
// report too: the run worked and found a correctness failure.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, p, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	pr := newProgress(cfg.Progress)
	r := &runner{cfg: cfg, p: p, pr: pr, keys: newKeySet(newRunID(), p.Links, p.SKUs)}
	l := newLedger()
	seedAt := func(base, adminKey string) error {
		h, err := newHost(base, seedWorkers)
		if err != nil {
			return err
		}
		defer closeHosts([]*host{h})
		return seed(ctx, h, adminKey, r.keys, l, pr)
	}
	targets := cfg.Targets
	if targets == nil {
		if n := embeddedProcs(cfg.GOMAXPROCS); n > 0 {
			prev := runtime.GOMAXPROCS(n)
			defer runtime.GOMAXPROCS(prev)
		}
		pr.status("starting an embedded topology: %d region(s) x %d edge(s), seeding first", p.Regions, p.EdgesPerRegion)
		topo, t, err := startEmbedded(ctx, p.Regions, p.EdgesPerRegion, cfg.Partitions, p.Links+p.SKUs, cfg.Logger, seedAt)
		if err != nil {
			return nil, err
		}
		defer func() {
			pr.status("stopping the embedded topology")
			if err := topo.stop(); err != nil {
				cfg.Logger.Warn("stopping the embedded topology", "err", err)
			}
			pr.done()
		}()
		targets = &t
	} else {
		if err := checkTargets(ctx, *targets); err != nil {
			return nil, err
		}
		if err := seedAt(targets.Origins[0], targets.AdminKey); err != nil {
			return nil, err
		}
	}
	pr.done()
	if r.edges, err = newReadHosts(targets.Edges, p.ReadWorkers, p.Pipeline); err != nil {
		return nil, err
	}
	if r.origins, err = newHosts(targets.Origins, p.WriteWorkers); err != nil {
		return nil, err
	}
	auditOrigin, err := newHost(targets.Origins[0], 16)
	if err != nil {
		return nil, err
	}
	defer closeHosts(r.edges, r.origins, []*host{auditOrigin})
	settled, backlog := r.settleGossip(ctx, cfg.Settle)
	fresh := newFreshness(p.Links, p.SKUs)
	r.readMix = &readMix{keys: r.keys, zipfS: cfg.ZipfS, stockShare: p.StockShare, fresh: fresh, bound: cfg.StaleBound}
	// Probes outlive no call: they stop with this context at the latest.
	pctx, cancel := context.WithCancel(ctx)
	var probe *prober
	defer func() {
		cancel()
		if probe != nil {
			probe.wait()
			closeHosts(probe.hosts)
		}
	}()
	if p.WriteRate > 0 {
		if probe, err = newProber(pctx, r.keys, targets.Edges, p.ProbeSlots, cfg.StaleBound); err != nil {
			return nil, err
		}
		if cfg.ProbeRate > 0 {
			probe.gap = time.Duration(float64(time.Second) / cfg.ProbeRate)
		}
		r.writeMix = &writeMix{keys: r.keys, zipfS: cfg.ZipfS, adminKey: targets.AdminKey, fresh: fresh, ledger: l}
	}

	rate, source := p.ReadRate, "profile"
	if cfg.Rate > 0 {
		source = "flag"
	}
	if cfg.Warmup > 0 {
		warm := rate
		if warm == 0 {
			warm = p.RampRates[0]
		}
		if _, err := r.phase(ctx, "warm-up", warm, 0, cfg.Warmup, r.edges, r.readMix); err != nil {
			return nil, err
		}
	}
	var steps []RampStep
	if rate == 0 {
		source = "ramp"
		if rate, steps, err = r.ramp(ctx); err != nil {
			return nil, err
		}
		pr.line("ramp: running at %.0f/s, the highest rate sustained", rate)
	}

	before, err := r.scrape()
	if err != nil {
		return nil, fmt.Errorf("%w: reading metrics: %w", ErrTarget, err)
	}
	if r.writeMix != nil {
		r.writeMix.prober = probe // probes only during the measured phase
	}
	stopProfile, err := startCPUProfile(cfg.CPUProfile)
	if err != nil {
		return nil, err
	}
	cpu0 := processCPU()
	res, err := r.phase(ctx, "run", rate, p.WriteRate, cfg.Duration, r.edges, r.readMix)
	cpuUsed := processCPU() - cpu0
	stopProfile()
	if err != nil {
		return nil, err
	}
	after, err := r.scrape()
	if err != nil {
		return nil, fmt.Errorf("%w: reading metrics: %w", ErrTarget, err)
	}
	if probe != nil {
		pr.status("waiting for the last invalidation probes (at most %v)", cfg.StaleBound)
		probe.wait()
		pr.done()
	}

	rep := &Report{
		Profile: p.Name, OfferedRPS: rate, RateSource: source, Ramp: steps,
		Started: res.rTotals.Start, DurationS: cfg.Duration.Seconds(), ZipfS: cfg.ZipfS, Seed: cfg.Seed,
		Setup: p, Targets: *targets, StaleBoundMS: ms(cfg.StaleBound),
		Host: HostInfo{ProcessCPUSeconds: cpuUsed.Seconds(), NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), CPUs: cfg.CPUs, GoVersion: runtime.Version()},
	}
	if sent := res.rTotals.Sent + res.wTotal.Sent; sent > 0 {
		rep.Host.CPUPerRequestUS = cpuUsed.Seconds() * 1e6 / float64(sent)
	}
	rep.SettleS, rep.GossipBacklog = settled.Seconds(), backlog
	rep.fillStreams(res, p.WriteRate)
	rep.fillOrigin(before, after, res.rTotals.Elapsed)
	rep.fillProbes(probe.stats())

	if r.writeMix != nil {
		a, err := finalAudit(ctx, auditOrigin, targets.AdminKey, l, pr)
		if err != nil {
			return nil, err
		}
		rep.Audit, rep.Oversells = a, a.Oversells
	}
	if cfg.Compare {
		if rep.Compare, err = r.compare(ctx); err != nil {
			return nil, err
		}
	}
	if rep.Oversells > 0 {
		return rep, fmt.Errorf("%w: %d (first: %s)", ErrOversell, rep.Oversells, firstOr(rep.Audit.Findings, "?"))
	}
	return rep, nil
}

func firstOr(s []string, def string) string {
	if len(s) == 0 {
		return def
	}
	return s[0]
}

// nodeMetrics is the counters the report reads, summed over nodes.
type nodeMetrics struct {
	edgeOriginCalls map[string]float64 // by endpoint
	originRequests  map[string]float64 // by route
}

func (r *runner) scrape() (nodeMetrics, error) {
	es, err := scrapeAll(r.edges)
	if err != nil {
		return nodeMetrics{}, err
	}
	os, err := scrapeAll(r.origins)
	if err != nil {
		return nodeMetrics{}, err
	}
	return nodeMetrics{edgeOriginCalls: counters(es, metricEdgeOriginCalls, "endpoint"), originRequests: counters(os, metricOriginRequests, "route")}, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// percentileOf returns the q-th percentile (0-100) of sorted durations in
// milliseconds (nearest rank).
func percentileOf(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q / 100 * float64(len(sorted)))
	return ms(sorted[min(len(sorted)-1, max(0, i))])
}

func sortedDurations(d []time.Duration) []time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s
}
