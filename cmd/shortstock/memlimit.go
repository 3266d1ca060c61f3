package main

import (
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/shortstock/shortstock/edge"
)

// applyEdgeMemoryLimit sets the runtime's soft memory limit from the cache
// budget unless the operator set GOMEMLIMIT, which always wins. It returns
// the limit it set, or 0 when it left the runtime alone.
func applyEdgeMemoryLimit(cacheBytes int64, log *slog.Logger) int64 {
	if v, ok := os.LookupEnv("GOMEMLIMIT"); ok && v != "" {
		log.Info("memory limit from GOMEMLIMIT", "GOMEMLIMIT", v)
		return 0
	}
	limit := edge.MemoryLimit(cacheBytes)
	debug.SetMemoryLimit(limit)
	log.Info("memory limit from the cache budget", "limit_bytes", limit, "cache_bytes", cacheBytes)
	return limit
}
