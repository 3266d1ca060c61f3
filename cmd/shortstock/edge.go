package main

import (
	"context"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/shortstock/shortstock/edge"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/topology"
)

func runEdge(ctx context.Context, args []string) error {
	var (
		listen, region       string
		origins              listFlag
		cacheBytes           int64
		originTimeout, grace time.Duration
		negTTL, headsPoll    time.Duration
		redirectAge, permAge time.Duration
		sharedAge, swr, sie  time.Duration
		robotsFile           string
		revalidate           time.Duration
		gf                   gossipFlags
		lf                   logFlags
		tf                   tlsFlags
		originCA             string
	)
	var partitions int
	fs := newFlagSet("edge", "Run an edge node: public redirect and stock API from a local cache, gossip member.")
	fs.StringVar(&listen, "listen", "127.0.0.1:8080", "HTTP listen address")
	fs.StringVar(&region, "region", "local", "region name, e.g. eu-west")
	fs.Var(&origins, "origin", "the region's origin URL(s), tried in order on failure, e.g. http://127.0.0.1:9090")
	fs.Int64Var(&cacheBytes, "cache-bytes", 256<<20, "memory budget of the response cache in bytes")
	fs.DurationVar(&originTimeout, "origin-timeout", time.Second, "bound on one origin fetch, all origins included")
	fs.DurationVar(&grace, "stale-grace", 5*time.Minute, "how long past its TTL a cached answer is served while no origin answers")
	fs.DurationVar(&negTTL, "negative-ttl", 5*time.Second, "cap on how long a 404 is cached")
	fs.DurationVar(&headsPoll, "heads-poll", 2*time.Second, "how often to poll the origin's change-log heads for missed invalidations (0 = off)")
	fs.DurationVar(&redirectAge, "redirect-max-age", 0, "browser max-age of 302/307 answers, and of 301/308 of links that may change (expiry, visit limit, edited)")
	fs.DurationVar(&permAge, "permanent-max-age", time.Hour, "browser max-age of 301/308 answers of links that never change")
	fs.DurationVar(&sharedAge, "shared-max-age", time.Minute, "s-maxage and Surrogate-Control max-age: how long a CDN in front may keep an answer")
	fs.DurationVar(&swr, "stale-while-revalidate", 30*time.Second, "stale-while-revalidate offered to caches in front (RFC 5861)")
	fs.DurationVar(&sie, "stale-if-error", 5*time.Minute, "stale-if-error offered to caches in front (RFC 5861)")
	fs.DurationVar(&revalidate, "revalidate-window", 5*time.Second, "stale-while-revalidate inside the edge: how long past its TTL an answer is served at once while one refresh runs (0 = off; capped at --stale-grace)")
	fs.StringVar(&robotsFile, "robots-file", "", "file served as /robots.txt (default: disallow everything)")
	fs.IntVar(&partitions, "partitions", keys.DefaultPartitions, "partition count of the store behind the origin (power of two, 1..16384); an origin of another count is refused")
	fs.StringVar(&originCA, "origin-ca", "", "PEM CA file that signed the https:// --origin certificates (default: the system roots)")
	tf.register(fs)
	gf.register(fs)
	lf.register(fs)
	var af edgeAnalyticsFlags
	af.register(fs)
	var cpu cpuFlag
	cpu.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := lf.logger("edge")
	if err != nil {
		return err
	}
	if err := cpu.apply("edge"); err != nil {
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
	if redirectAge < 0 || permAge < 0 || sharedAge < 0 || swr < 0 || sie < 0 || revalidate < 0 {
		return usageErr("edge", "cache lifetimes (--redirect-max-age, --permanent-max-age, --shared-max-age, --stale-while-revalidate, --stale-if-error, --revalidate-window) must not be negative")
	}
	robots := edge.DefaultRobots
	if robotsFile != "" {
		b, err := os.ReadFile(robotsFile)
		if err != nil || len(b) == 0 || len(b) > 64<<10 {
			return usageErr("edge", "--robots-file %q: want a readable, non-empty file of at most 64 KiB", robotsFile)
		}
		robots = string(b)
	}
	gcfg, err := gf.config("edge", "edge", region)
	if err != nil {
		return err
	}
	local := true
	for _, o := range origins {
		u, _ := url.Parse(o) // validated above
		local = local && loopbackHost(u.Hostname())
	}
	auth, err := gf.internalAuth("edge", local)
	if err != nil {
		return err
	}
	serverTLS, err := tf.server("edge", log)
	if err != nil {
		return err
	}
	originTLS, err := clientCA("edge", "origin-ca", originCA)
	if err != nil {
		return err
	}
	applyEdgeMemoryLimit(cacheBytes, log)
	if err := keys.ValidPartitions(partitions); err != nil {
		return usageErr("edge", "invalid --partitions: %v", err)
	}
	cfg := edge.DefaultConfig()
	cfg.Partitions = partitions
	cfg.Region, cfg.Origins, cfg.ClusterToken, cfg.OriginTLS = region, origins, auth.send, originTLS
	auth.logSource(log)
	if gcfg != nil {
		cfg.NodeName = gcfg.NodeName
	}
	cfg.RedirectMaxAge, cfg.PermanentMaxAge, cfg.SharedMaxAge = redirectAge, permAge, sharedAge
	cfg.StaleWhileRevalidate, cfg.StaleIfError, cfg.Robots = swr, sie, robots
	cfg.RevalidateWindow = revalidate
	if err := af.apply(&cfg); err != nil {
		return err
	}
	cfg.CacheBytes, cfg.OriginTimeout, cfg.StaleGrace, cfg.NegativeTTL, cfg.HeadsPollInterval = cacheBytes, originTimeout, grace, negTTL, headsPoll
	node, err := topology.StartEdge(topology.EdgeOptions{Edge: cfg, Listen: listen, Gossip: gcfg, TLS: serverTLS, AdminListen: tf.adminListen, Logger: log.With("region", region)})
	if err != nil {
		return partitionsErr(err)
	}
	return runUntilStopped(ctx, node, log, "draining requests, flushing clicks, leaving gossip")
}
