package main

import (
	"log/slog"
	"os"
	"runtime/debug"
)

// memoryHeadroom is what an edge needs beside its cache: the runtime,
// per-connection buffers, the click counters and GC slack.
const memoryHeadroom = 64 << 20

// edgeMemoryLimit is the soft memory limit an edge gets from its cache
// budget: the budget plus a quarter (ristretto's cost is an estimate) plus
// memoryHeadroom. Without a limit the heap of a large cache doubles before
// each GC (GOGC=100), which is where most of the RSS above the cache went.
func edgeMemoryLimit(cacheBytes int64) int64 {
	return cacheBytes + cacheBytes/4 + memoryHeadroom
}

// applyEdgeMemoryLimit sets the runtime's soft memory limit from the cache
// budget unless the operator set GOMEMLIMIT, which always wins. It returns
// the limit it set, or 0 when it left the runtime alone.
func applyEdgeMemoryLimit(cacheBytes int64, log *slog.Logger) int64 {
	if v, ok := os.LookupEnv("GOMEMLIMIT"); ok && v != "" {
		log.Info("memory limit from GOMEMLIMIT", "GOMEMLIMIT", v)
		return 0
	}
	limit := edgeMemoryLimit(cacheBytes)
	debug.SetMemoryLimit(limit)
	log.Info("memory limit from the cache budget", "limit_bytes", limit, "cache_bytes", cacheBytes)
	return limit
}
