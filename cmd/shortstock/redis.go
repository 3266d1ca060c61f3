package main

import (
	"context"
	"log/slog"

	"github.com/shortstock/shortstock/origin"
)

func openRedis(ctx context.Context, f *originFlags, log *slog.Logger) (origin.Store, error) {
	return openRedisStore(ctx, f.redis, log)
}

func openRedisStore(ctx context.Context, addrs []string, log *slog.Logger) (origin.Store, error) {
	return nil, usageErr("origin", "--store redis: backend not wired yet (%s)", joinAddrs(addrs))
}
