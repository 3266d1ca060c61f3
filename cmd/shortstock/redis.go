package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/shortstock/shortstock/origin/redisstore"
	"github.com/shortstock/shortstock/origin/store"
)

// redisFlags are the Redis connection settings beyond --redis.
type redisFlags struct {
	password, replica, prefix string
	readReplicas, cluster     bool
	tls                       redisTLSFlags
	durability                durabilityFlags
}

func (r *redisFlags) register(fsVar func(p *string, name, value, usage string), fsBool func(p *bool, name string, value bool, usage string)) {
	fsVar(&r.password, "redis-password", "", "Redis password (requirepass or ACL)")
	fsVar(&r.replica, "redis-replica", "", "standalone Redis replica for reads (with --redis-read-replicas)")
	fsVar(&r.prefix, "redis-prefix", "ss", "prefix of every Redis key, so deployments can share a Redis")
	fsBool(&r.readReplicas, "redis-read-replicas", false, "send reads and the change-log tail to replicas (cluster: nearest by latency)")
	fsBool(&r.cluster, "redis-cluster", false, "use the cluster client even with one --redis address")
	r.tls.register(fsVar)
	r.durability.register(fsVar)
}

func openRedis(ctx context.Context, f *originFlags, log *slog.Logger) (store.Store, error) {
	return openRedisStore(ctx, f.redis, f.redisOpts, f.partitions, log)
}

func openRedisStore(ctx context.Context, addrs []string, o redisFlags, partitions int, log *slog.Logger) (store.Store, error) {
	cfg := redisstore.DefaultConfig(addrs)
	cfg.Partitions = partitions
	cfg.Password, cfg.ReplicaAddr, cfg.KeyPrefix = o.password, o.replica, o.prefix
	cfg.ReadFromReplicas, cfg.ForceCluster = o.readReplicas, o.cluster
	if err := o.tls.apply("origin", &cfg); err != nil {
		return nil, err
	}
	if err := o.durability.apply(&cfg); err != nil {
		return nil, err
	}
	cfg.Logger = log
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := redisstore.New(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("redis %s: %w", joinAddrs(addrs), err)
	}
	log.Info("storage ready", "store", "redis", "addrs", addrs, "cluster", len(addrs) > 1 || o.cluster)
	return s, nil
}
