package bench

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
)

// Config is one run of the harness. Zero fields take the defaults in their
// comments; the profile fills the rest.
type Config struct {
	// Profile names the scale profile: small, medium or large. Default small.
	Profile string
	// Duration is how long the measured phase offers load. Default 10s.
	Duration time.Duration
	// CPUProfile, when set, is a file the Go CPU profile of the measured
	// phase is written to (the whole process: with the embedded topology,
	// edges, origins and the load generator alike).
	CPUProfile string
	// Warmup is a read-only phase before it, not recorded, that fills the
	// edges' caches. Negative: none. Default 2s.
	Warmup time.Duration
	// Rate overrides the profile's offered read rate (requests/s at edges).
	// 0: the profile's; for large, the highest rate a ramp finds sustained.
	Rate float64
	// WriteRate overrides the profile's offered write rate at origins.
	// 0: the profile's. Negative: no writes (so no probes and no audit).
	WriteRate float64
	// ReadWorkers and WriteWorkers override the profile's bounds on
	// requests in flight. 0: the profile's.
	ReadWorkers, WriteWorkers int
	// Pipeline overrides the profile's reads in flight per connection to
	// an edge (HTTP/1.1 pipelining: requests due together share a write,
	// their answers a read). 0: the profile's; 1: one request a
	// connection, as browsers send them.
	Pipeline int
	// ZipfS is the key skew (s > 1). Default 1.1.
	ZipfS float64
	// StockShare overrides the profile's share of reads that are stock
	// reads. 0: the profile's. Negative: none (redirects only).
	StockShare float64
	// Timeout bounds one request. Default 2s.
	Timeout time.Duration
	// StaleBound is the staleness bound: an edge serving a version older
	// than one acknowledged longer ago than this is a stale read. Default 1s.
	StaleBound time.Duration
	// ProbeRate caps the writes followed to every edge (the invalidation
	// probes) per second: each costs one request per edge, so following
	// every write of a 200 writes/s run to 30 edges would add ~2 500
	// requests/s to the load it measures. Default 20; negative: no cap
	// (every write a probe slot is free for).
	ProbeRate float64
	// Targets are the endpoints to load. Nil: a topology of the profile's
	// size started in this process.
	Targets *Targets
	// Regions and EdgesPerRegion override the embedded topology's size.
	Regions, EdgesPerRegion int
	// Partitions is the embedded store's partition count (a power of two,
	// 1..keys.MaxPartitions). Default keys.DefaultPartitions.
	Partitions int
	// GOMAXPROCS is the Ps this process runs with while an embedded
	// topology is up (restored after): why, see embeddedProcs. 0: twice
	// the CPUs, unless the GOMAXPROCS environment variable is set, which
	// then stands. Running targets (Targets) leave it alone.
	GOMAXPROCS int
	// CPUs, when the caller pinned the process (`--cpu`), is their list,
	// for the report. Empty: not pinned.
	CPUs string
	// Links and SKUs override the profile's key counts.
	Links, SKUs int
	// Settle bounds the wait after seeding for the gossip queues to drain
	// (see settleGossip). Negative: no wait. Default 30s.
	Settle time.Duration
	// RampStep is how long each rate of large's ramp is tried. Default 2s.
	RampStep time.Duration
	// Compare also runs the redirect load against an edge and a bare
	// fasthttp server answering a fixed 302, alternating, CompareRounds
	// rounds of CompareRound each per server, at CompareRate.
	Compare       bool
	CompareRounds int           // default 3
	CompareRound  time.Duration // default 3s
	CompareRate   float64       // 0: the profile's CompareRate
	// Seed seeds the key draws. 0: random.
	Seed uint64
	// Logger receives the embedded topology's logs. Default: discarded.
	Logger *slog.Logger
	// Progress receives the progress line (stderr). Nil: none.
	Progress io.Writer
}

// resolve fills defaults and checks every setting; errors wrap ErrConfig.
func (c Config) resolve() (Config, Profile, error) {
	if c.Profile == "" {
		c.Profile = "small"
	}
	p, err := LookupProfile(c.Profile)
	if err != nil {
		return c, p, err
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.Duration, 10*time.Second)
	def(&c.Warmup, 2*time.Second)
	def(&c.Timeout, 2*time.Second)
	def(&c.StaleBound, time.Second)
	def(&c.RampStep, 2*time.Second)
	def(&c.Settle, 30*time.Second)
	def(&c.CompareRound, 3*time.Second)
	if c.ZipfS == 0 {
		c.ZipfS = 1.1
	}
	if c.ProbeRate == 0 {
		c.ProbeRate = 20
	}
	if c.CompareRounds == 0 {
		c.CompareRounds = 3
	}
	if c.Seed == 0 {
		c.Seed = rand.Uint64() | 1
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	bad := func(format string, a ...any) (Config, Profile, error) {
		return c, p, fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
	}
	switch {
	case c.Duration < time.Second || c.Duration > 24*time.Hour:
		return bad("duration must be between 1s and 24h, got %v", c.Duration)
	case c.Warmup > time.Hour:
		return bad("warm-up must be at most 1h, got %v", c.Warmup)
	case c.Rate < 0 || c.Rate > 10_000_000:
		return bad("rate must be between 0 (the profile's) and 10M/s, got %v", c.Rate)
	case c.WriteRate > 100_000:
		return bad("write rate must be at most 100000/s, got %v", c.WriteRate)
	case c.ReadWorkers < 0 || c.ReadWorkers > 4096 || c.WriteWorkers < 0 || c.WriteWorkers > 4096:
		return bad("workers must be between 0 (the profile's) and 4096")
	case c.Pipeline < 0 || c.Pipeline > 256:
		return bad("pipeline must be between 0 (the profile's) and 256 requests a connection, got %d", c.Pipeline)
	case c.ZipfS < MinZipfS || c.ZipfS > MaxZipfS:
		return bad("zipf skew s must be above 1 and at most %v, got %v", MaxZipfS, c.ZipfS)
	case c.StockShare > 1:
		return bad("stock share must be at most 1, got %v", c.StockShare)
	case c.Timeout < 10*time.Millisecond || c.Timeout > time.Minute:
		return bad("timeout must be between 10ms and 1m, got %v", c.Timeout)
	case c.ProbeRate > 100_000 || c.ProbeRate != c.ProbeRate:
		return bad("probe rate must be at most 100000/s, got %v", c.ProbeRate)
	case c.StaleBound < time.Millisecond || c.StaleBound > 10*time.Minute:
		return bad("stale bound must be between 1ms and 10m, got %v", c.StaleBound)
	case c.Regions < 0 || c.Regions > 16 || c.EdgesPerRegion < 0 || c.EdgesPerRegion > 64:
		return bad("regions must be 0-16 and edges per region 0-64")
	case c.Partitions != 0 && keys.ValidPartitions(c.Partitions) != nil:
		return bad("%v", keys.ValidPartitions(c.Partitions))
	case c.Partitions != 0 && c.Targets != nil:
		return bad("partitions sizes the embedded topology only; running targets have their own")
	case c.GOMAXPROCS < 0 || c.GOMAXPROCS > 1024:
		return bad("gomaxprocs must be 0 (twice the CPUs) to 1024, got %d", c.GOMAXPROCS)
	case c.GOMAXPROCS != 0 && c.Targets != nil:
		return bad("gomaxprocs sizes the embedded topology's process only; running targets have their own")
	case c.Links < 0 || c.Links > 10_000_000 || c.SKUs < 0 || c.SKUs > 1_000_000:
		return bad("links must be 0-10000000 and SKUs 0-1000000")
	case c.Settle > time.Hour:
		return bad("settle must be at most 1h, got %v", c.Settle)
	case c.RampStep < 500*time.Millisecond || c.RampStep > time.Minute:
		return bad("ramp step must be between 500ms and 1m, got %v", c.RampStep)
	case c.CompareRounds < 1 || c.CompareRounds > 20:
		return bad("compare rounds must be 1-20, got %d", c.CompareRounds)
	case c.CompareRound < 500*time.Millisecond || c.CompareRound > 10*time.Minute:
		return bad("compare round must be between 500ms and 10m, got %v", c.CompareRound)
	case c.CompareRate < 0 || c.CompareRate > 10_000_000:
		return bad("compare rate must be between 0 (the profile's) and 10M/s, got %v", c.CompareRate)
	}
	if t := c.Targets; t != nil && (len(t.Edges) == 0 || len(t.Origins) == 0 || t.AdminKey == "") {
		return bad("targets need at least one edge, one origin and the admin key (the keys are seeded through the admin API)")
	}
	// Overrides into the profile, so the report shows what really ran.
	over := func(dst *int, v int) {
		if v > 0 {
			*dst = v
		}
	}
	over(&p.Regions, c.Regions)
	over(&p.EdgesPerRegion, c.EdgesPerRegion)
	over(&p.Links, c.Links)
	over(&p.SKUs, c.SKUs)
	over(&p.ReadWorkers, c.ReadWorkers)
	over(&p.WriteWorkers, c.WriteWorkers)
	over(&p.Pipeline, c.Pipeline)
	if c.Rate > 0 {
		p.ReadRate = c.Rate
	}
	switch {
	case c.WriteRate > 0:
		p.WriteRate = c.WriteRate
	case c.WriteRate < 0:
		p.WriteRate = 0
	}
	switch {
	case c.StockShare > 0:
		p.StockShare = c.StockShare
	case c.StockShare < 0:
		p.StockShare = 0
	}
	if c.CompareRate > 0 {
		p.CompareRate = c.CompareRate
	}
	return c, p, nil
}
