package main

import (
	"context"
	"net"
	"net/url"
	"time"

	"github.com/shortstock/shortstock/edge"
	"github.com/shortstock/shortstock/topology"
)

func runEdge(ctx context.Context, args []string) error {
	var (
		listen, region       string
		origins              listFlag
		cacheBytes           int64
		originTimeout, grace time.Duration
		negTTL, headsPoll    time.Duration
		gf                   gossipFlags
		lf                   logFlags
	)
	fs := newFlagSet("edge", "Run an edge node: public redirect and stock API from a local cache, gossip member.")
	fs.StringVar(&listen, "listen", "127.0.0.1:8080", "HTTP listen address")
	fs.StringVar(&region, "region", "local", "region name, e.g. eu-west")
	fs.Var(&origins, "origin", "the region's origin URL(s), tried in order on failure, e.g. http://127.0.0.1:9090")
	fs.Int64Var(&cacheBytes, "cache-bytes", 256<<20, "memory budget of the response cache in bytes")
	fs.DurationVar(&originTimeout, "origin-timeout", time.Second, "bound on one origin fetch, all origins included")
	fs.DurationVar(&grace, "stale-grace", 5*time.Minute, "how long past its TTL a cached answer is served while no origin answers")
	fs.DurationVar(&negTTL, "negative-ttl", 5*time.Second, "cap on how long a 404 is cached")
	fs.DurationVar(&headsPoll, "heads-poll", 2*time.Second, "how often to poll the origin's change-log heads for missed invalidations (0 = off)")
	gf.register(fs)
	lf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := lf.logger("edge")
	if err != nil {
		return err
	}
	if len(origins) == 0 {
		return usageErr("edge", "no origin: give --origin URL or set SHORTSTOCK_ORIGIN")
	}
	for _, o := range origins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageErr("edge", "invalid --origin %q: want http://host:port", o)
		}
	}
	if _, _, err := net.SplitHostPort(listen); err != nil {
		return usageErr("edge", "invalid --listen %q: %v", listen, err)
	}
	if !validRegion(region) {
		return usageErr("edge", "invalid --region %q: want 1-64 of [A-Za-z0-9._-]", region)
	}
	if cacheBytes < 1<<20 {
		return usageErr("edge", "--cache-bytes must be at least 1 MiB")
	}
	if originTimeout <= 0 || grace < 0 || negTTL <= 0 || headsPoll < 0 {
		return usageErr("edge", "durations must be positive")
	}
	gcfg, err := gf.config("edge", "edge", region)
	if err != nil {
		return err
	}
	token, err := gf.clusterToken("edge", log)
	if err != nil {
		return err
	}
	applyEdgeMemoryLimit(cacheBytes, log)
	cfg := edge.DefaultConfig()
	cfg.Region, cfg.Origins, cfg.ClusterToken = region, origins, token
	if gcfg != nil {
		cfg.NodeName = gcfg.NodeName
	}
	cfg.CacheBytes, cfg.OriginTimeout, cfg.StaleGrace, cfg.NegativeTTL, cfg.HeadsPollInterval = cacheBytes, originTimeout, grace, negTTL, headsPoll
	node, err := topology.StartEdge(topology.EdgeOptions{Edge: cfg, Listen: listen, Gossip: gcfg, Logger: log.With("region", region)})
	if err != nil {
		return err
	}
	return runUntilStopped(ctx, node, log, "draining requests, flushing clicks, leaving gossip")
}
