package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/shortstock/shortstock/bench"
	"github.com/shortstock/shortstock/internal/cpuset"
)

// runBench runs the benchmark harness (package bench). `shortstock bench
// compare ...` is `shortstock bench --compare ...`.
func runBench(ctx context.Context, args []string) error {
	var (
		profile, jsonFile, reportDir, topoFile, adminKey string
		duration, warmup, timeout, staleBound, rampStep  time.Duration
		compareRound, settle                             time.Duration
		rate, writeRate, zipfS, stockShare, compareRate  float64
		readWorkers, writeWorkers, regions, edgesPer     int
		links, skus, compareRounds, partitions, procs    int
		seed                                             uint64
		cpuProfile                                       string
		cpu                                              cpuFlag
		pipeline                                         int
		compare                                          bool
		spikeFactor, probeRate                           float64
		spikeJobLines                                    int
		edges, origins                                   listFlag
		lf                                               logFlags
	)
	if len(args) > 0 && args[0] == "compare" {
		compare, args = true, args[1:]
	}
	fs := newFlagSet("bench", "Open-loop load against edges (Zipf redirects and stock reads) and origins (link PATCHes, stock adjusts,\n"+
		"reservations), with latency from the intended send time, hit ratio, origin calls, invalidation delay, stale reads\n"+
		"and a stock audit. Targets: its own in-process topology (default), --topology-file, or --edge/--origin/--admin-key.\n"+
		"'shortstock bench compare' also runs the redirect load against a bare fasthttp fixed-302 server, alternating.")
	fs.StringVar(&profile, "profile", "small", "scale profile: "+strings.Join(bench.ProfileNames(), ", ")+", or spike (bulk queue under a burst: --spike-factor times the sustained rate for --duration; docs/bench.md)")
	fs.Float64Var(&spikeFactor, "spike-factor", 5, "spike: the burst offers this many times the queue's sustained rate")
	fs.IntVar(&spikeJobLines, "spike-job-lines", 1000, "spike: lines per POST /v1/stock:bulk")
	fs.DurationVar(&duration, "duration", 10*time.Second, "how long the measured phase offers load")
	fs.DurationVar(&warmup, "warmup", 2*time.Second, "unrecorded read phase before it, filling the caches (0: none)")
	fs.Float64Var(&rate, "rate", 0, "offered read rate at edges, requests/s (0: the profile's; large ramps to the highest rate sustained)")
	fs.Float64Var(&writeRate, "write-rate", -1, "offered write rate at origins, requests/s (-1: the profile's; 0: no writes, probes or audit)")
	fs.IntVar(&readWorkers, "read-workers", 0, "bound on reads in flight (0: the profile's)")
	fs.IntVar(&writeWorkers, "write-workers", 0, "bound on writes in flight (0: the profile's)")
	fs.IntVar(&pipeline, "pipeline", 0, "reads in flight per connection to an edge, HTTP/1.1 pipelining (0: the profile's, 16 for large; 1: one request a connection, as browsers)")
	fs.Float64Var(&zipfS, "zipf-s", 1.1, "Zipf skew of the keys drawn, s > 1 (higher: fewer, hotter keys)")
	fs.Float64Var(&stockShare, "stock-share", -1, "share of reads that are stock reads, 0-1 (-1: the profile's)")
	fs.DurationVar(&timeout, "timeout", 2*time.Second, "bound on one request")
	fs.Float64Var(&probeRate, "probe-rate", 20, "writes per second at most followed to every edge to measure invalidation (each costs a request per edge; 0: every write a probe slot is free for)")
	fs.DurationVar(&staleBound, "stale-bound", time.Second, "staleness bound: an older version served this long after a write is a stale read")
	fs.StringVar(&jsonFile, "json", "", "also write the results as JSON to this file")
	fs.StringVar(&reportDir, "report", "", "also write an HTML report with PNG charts into this directory")
	fs.StringVar(&topoFile, "topology-file", "", "load the topology 'shortstock demo --topology-file' wrote")
	fs.Var(&edges, "edge", "edge base URL(s) to load, comma separated (with --origin and --admin-key)")
	fs.Var(&origins, "origin", "origin base URL(s) for seeding, writes and the audit, comma separated")
	fs.StringVar(&adminKey, "admin-key", "", "admin API key of the origins given by --origin")
	fs.IntVar(&regions, "regions", 0, "regions of the embedded topology (0: the profile's)")
	fs.IntVar(&edgesPer, "edges-per-region", 0, "edges per region of the embedded topology (0: the profile's)")
	fs.IntVar(&partitions, "partitions", 0, "partition count of the embedded topology's store (power of two, 1..16384; 0: the default, 1024)")
	fs.IntVar(&procs, "gomaxprocs", 0, "Ps of this process while it hosts the embedded topology (0: twice the CPUs, or the GOMAXPROCS environment variable when set; docs/bench.md)")
	fs.IntVar(&links, "links", 0, "links to seed (0: the profile's)")
	fs.IntVar(&skus, "skus", 0, "SKUs to seed (0: the profile's)")
	fs.DurationVar(&settle, "settle", 30*time.Second, "after seeding a running topology, wait at most this long for its gossip queues to drain (0: no wait)")
	fs.DurationVar(&rampStep, "ramp-step", 2*time.Second, "how long the ramp tries each rate (large)")
	fs.BoolVar(&compare, "compare", compare, "also compare an edge with a bare fasthttp fixed-302 server, alternating")
	fs.IntVar(&compareRounds, "compare-rounds", 3, "compare: rounds (each runs the edge, then the bare server)")
	fs.DurationVar(&compareRound, "compare-round", 3*time.Second, "compare: how long each server is loaded per round")
	fs.Float64Var(&compareRate, "compare-rate", 0, "compare: offered rate (0: the profile's; large offers 100000/s so both saturate)")
	fs.Uint64Var(&seed, "seed", 0, "random seed of the key draws (0: random)")
	fs.StringVar(&cpuProfile, "cpu-profile", "", "write a Go CPU profile of the measured phase to this file (the whole process: with the embedded topology, every node and the load generator)")
	lf.register(fs)
	cpu.register(fs)
	fs.Lookup("log-level").DefValue, fs.Lookup("log-format").DefValue = "warn", "text"
	lf.level, lf.format = "warn", "text"
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := lf.logger("bench")
	if err != nil {
		return err
	}
	if pipeline < 0 || pipeline > 256 {
		return usageErr("bench", "--pipeline must be between 0 (the profile's) and 256")
	}
	if err := cpu.apply("bench"); err != nil {
		return err
	}

	if profile == "spike" {
		return runSpike(ctx, bench.SpikeConfig{
			Duration: duration, Factor: spikeFactor, LinesPerJob: spikeJobLines, SKUs: skus,
			AdminKey: adminKey, Logger: log, Progress: os.Stderr,
		}, origins, jsonFile)
	}
	cfg := bench.Config{
		Profile: profile, Duration: duration, Warmup: warmup, Rate: rate,
		ReadWorkers: readWorkers, WriteWorkers: writeWorkers, ZipfS: zipfS,
		Timeout: timeout, StaleBound: staleBound, Regions: regions, EdgesPerRegion: edgesPer, Partitions: partitions,
		Links: links, SKUs: skus, RampStep: rampStep, Compare: compare, CompareRounds: compareRounds,
		CompareRound: compareRound, CompareRate: compareRate, Seed: seed, Logger: log, Progress: os.Stderr,
		CPUProfile: cpuProfile, GOMAXPROCS: procs, Pipeline: pipeline, CPUs: cpuset.Format(cpu.cpus),
	}
	// The CLI says 0 for "none" and -1 for "the profile's"; bench.Config
	// keeps Go's zero-means-default.
	for _, d := range []struct {
		name string
		v    time.Duration
		dst  *time.Duration
	}{{"warmup", warmup, &cfg.Warmup}, {"settle", settle, &cfg.Settle}} {
		switch {
		case d.v == 0:
			*d.dst = -1
		case d.v < 0:
			return usageErr("bench", "--%s must not be negative", d.name)
		default:
			*d.dst = d.v
		}
	}
	switch {
	case probeRate < 0 || probeRate != probeRate:
		return usageErr("bench", "--probe-rate must not be negative")
	case probeRate == 0:
		cfg.ProbeRate = -1 // no cap
	default:
		cfg.ProbeRate = probeRate
	}
	if cfg.WriteRate, err = cliRate("write-rate", writeRate); err != nil {
		return err
	}
	if cfg.StockShare, err = cliRate("stock-share", stockShare); err != nil {
		return err
	}
	if cfg.Targets, err = benchTargets(topoFile, edges, origins, adminKey); err != nil {
		return err
	}
	if cfg.Targets == nil && cpu.cpus != nil && procs == 0 && os.Getenv("GOMAXPROCS") == "" {
		// The embedded topology's Ps follow the CPUs pinned to (twice
		// them, as bench.Config.GOMAXPROCS explains).
		cfg.GOMAXPROCS = 2 * len(cpu.cpus)
	}
	rep, err := bench.Run(ctx, cfg)
	if errors.Is(err, bench.ErrConfig) {
		return usageErr("bench", "%s", trimSentinel(err, bench.ErrConfig))
	}
	if rep == nil {
		return err
	}
	// With ErrOversell there is a report to show: show it, then fail.
	outErr := bench.PrintTable(os.Stdout, rep)
	if jsonFile != "" {
		outErr = errors.Join(outErr, bench.WriteJSON(jsonFile, rep))
	}
	if reportDir != "" {
		if werr := bench.WriteHTMLReport(reportDir, rep); werr != nil {
			outErr = errors.Join(outErr, werr)
		} else {
			fmt.Fprintf(os.Stderr, "report: %s/index.html\n", strings.TrimRight(reportDir, "/"))
		}
	}
	return errors.Join(err, outErr)
}

// cliRate maps a CLI value where -1 is "the profile's" and 0 is "none" to
// bench.Config's 0 and negative.
func cliRate(name string, v float64) (float64, error) {
	switch {
	case v == -1:
		return 0, nil
	case v == 0:
		return -1, nil
	case v < 0:
		return 0, usageErr("bench", "--%s must be -1 (the profile's), 0 (none) or positive", name)
	}
	return v, nil
}

// benchTargets turns the target flags into bench.Targets: nil (the
// embedded topology) when none are given.
func benchTargets(topoFile string, edges, origins listFlag, adminKey string) (*bench.Targets, error) {
	switch {
	case topoFile != "" && (len(edges) > 0 || len(origins) > 0):
		return nil, usageErr("bench", "give --topology-file or --edge/--origin, not both")
	case topoFile != "":
		t, err := bench.ReadTopologyFile(topoFile)
		if err != nil {
			return nil, usageErr("bench", "--topology-file: %s", trimSentinel(err, bench.ErrTarget))
		}
		return &t, nil
	case len(edges) == 0 && len(origins) == 0:
		return nil, nil // the embedded topology brings its own admin key
	case len(edges) == 0 || len(origins) == 0 || adminKey == "":
		return nil, usageErr("bench", "--edge, --origin and --admin-key go together (the keys are seeded through the admin API)")
	}
	return &bench.Targets{Edges: edges, Origins: origins, AdminKey: adminKey, Source: "urls"}, nil
}

// trimSentinel drops a wrapped sentinel's own text from err's, so the user
// sees one clean line.
func trimSentinel(err, sentinel error) string {
	return strings.TrimPrefix(err.Error(), sentinel.Error()+": ")
}

// runSpike runs `shortstock bench --profile spike`: against --origin (the
// first) with --admin-key, or its own in-process origin.
func runSpike(ctx context.Context, cfg bench.SpikeConfig, origins listFlag, jsonFile string) error {
	if len(origins) > 0 {
		cfg.Origin = origins[0]
	}
	if cfg.Factor <= 0 || cfg.LinesPerJob < 1 || cfg.LinesPerJob > 1_000_000 || cfg.Duration <= 0 {
		return usageErr("bench", "spike: --spike-factor must be positive, --spike-job-lines 1..1000000, --duration positive")
	}
	rep, err := bench.RunSpike(ctx, cfg)
	if errors.Is(err, bench.ErrConfig) {
		return usageErr("bench", "%s", trimSentinel(err, bench.ErrConfig))
	}
	if rep == nil {
		return err
	}
	outErr := bench.PrintSpike(os.Stdout, rep)
	if jsonFile != "" {
		b, jerr := json.MarshalIndent(rep, "", "  ")
		if jerr == nil {
			jerr = os.WriteFile(jsonFile, b, 0o644)
		}
		outErr = errors.Join(outErr, jerr)
	}
	return errors.Join(err, outErr)
}
