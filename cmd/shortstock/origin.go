package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/shortstock/shortstock/internal/topology"
	"github.com/shortstock/shortstock/origin"
	"github.com/shortstock/shortstock/origin/embedded"
)

type originFlags struct {
	listen, region, store, dataDir string
	redis, adminKeys               listFlag
	linkTTL, stockTTL, negTTL      time.Duration
	redisOpts                      redisFlags
	gossip                         gossipFlags
	log                            logFlags
}

func runOrigin(ctx context.Context, args []string) error {
	var f originFlags
	fs := newFlagSet("origin", "Run a regional origin: admin API, internal API for edges, storage, change-log tailer, gossip member.")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:9090", "HTTP listen address")
	fs.StringVar(&f.region, "region", "local", "region name, e.g. eu-west")
	fs.StringVar(&f.store, "store", "embedded", "storage backend: embedded or redis")
	fs.StringVar(&f.dataDir, "data-dir", "./data", "embedded store directory")
	fs.Var(&f.redis, "redis", "Redis address(es): one = standalone, several = Redis Cluster seeds")
	fs.Var(&f.adminKeys, "admin-key", "accepted admin API key, at least 16 characters (repeatable; comma separated in the env variable)")
	fs.DurationVar(&f.linkTTL, "link-ttl", 5*time.Minute, "how long edges may serve a link before revalidating (invalidations normally come first)")
	fs.DurationVar(&f.stockTTL, "stock-ttl", 30*time.Second, "how long edges may serve a stock view before revalidating")
	fs.DurationVar(&f.negTTL, "negative-ttl", 5*time.Second, "how long edges may cache a 404")
	f.redisOpts.register(fs.StringVar, fs.BoolVar)
	f.gossip.register(fs)
	f.log.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := f.log.logger("origin")
	if err != nil {
		return err
	}
	if len(f.adminKeys) == 0 {
		return usageErr("origin", "no admin key: give --admin-key KEY or set SHORTSTOCK_ADMIN_KEY")
	}
	for _, k := range f.adminKeys {
		if len(k) < 16 {
			return usageErr("origin", "admin keys must be at least 16 characters")
		}
	}
	if _, _, err := net.SplitHostPort(f.listen); err != nil {
		return usageErr("origin", "invalid --listen %q: %v", f.listen, err)
	}
	if !validRegion(f.region) {
		return usageErr("origin", "invalid --region %q: want 1-64 of [A-Za-z0-9._-]", f.region)
	}
	switch {
	case f.store != "embedded" && f.store != "redis":
		return usageErr("origin", "invalid --store %q (want embedded or redis)", f.store)
	case f.store == "embedded" && len(f.redis) > 0:
		return usageErr("origin", "--redis needs --store redis")
	case f.store == "redis" && len(f.redis) == 0:
		return usageErr("origin", "--store redis needs --redis ADDR[,ADDR]")
	}
	gcfg, err := f.gossip.config("origin", "origin", f.region)
	if err != nil {
		return err
	}
	token, err := f.gossip.clusterToken("origin", log)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, &f, log)
	if err != nil {
		return err
	}
	defer store.Close()

	cfg := origin.DefaultConfig()
	cfg.Region = f.region
	cfg.Store = store
	cfg.AdminKeys = f.adminKeys
	cfg.ClusterToken = token
	cfg.LinkCacheTTL, cfg.StockCacheTTL, cfg.NegativeCacheTTL = f.linkTTL, f.stockTTL, f.negTTL
	node, err := topology.StartOrigin(topology.OriginOptions{Origin: cfg, Listen: f.listen, Gossip: gcfg, Logger: log.With("region", f.region)})
	if err != nil {
		return err
	}
	select {
	case err := <-node.Done():
		node.Shutdown(context.Background())
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests, leaving gossip")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := node.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	log.Info("stopped")
	return nil
}

// validRegion matches what gossip accepts as a pool label.
func validRegion(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func openStore(ctx context.Context, f *originFlags, log *slog.Logger) (origin.Store, error) {
	switch f.store {
	case "embedded":
		s, err := embedded.Open(embedded.DefaultConfig(f.dataDir))
		if err != nil {
			return nil, fmt.Errorf("opening embedded store in %s: %w", f.dataDir, err)
		}
		log.Info("storage ready", "store", "embedded", "data_dir", f.dataDir)
		return s, nil
	case "redis":
		return openRedis(ctx, f, log)
	}
	return nil, usageErr("origin", "invalid --store %q (want embedded or redis)", f.store)
}

func joinAddrs(a []string) string { return strings.Join(a, ",") }
