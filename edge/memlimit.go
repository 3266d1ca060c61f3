package edge

// memoryHeadroom is what an edge needs beside its cache: the runtime,
// per-connection buffers, the floors, click counters and admission
// counters.
const memoryHeadroom = 24 << 20

// MemoryLimit is the soft memory limit (runtime/debug.SetMemoryLimit) for
// an edge with a cache budget of cacheBytes: the budget, a sixteenth of it
// as room for garbage between collections (so a large cache refilling
// under churn is not marked over and over) and memoryHeadroom. Without a
// limit a large cache's heap doubles before each GC (GOGC=100), which is
// where most of an edge's RSS above its cache went.
//
// It was the budget, an eighth and 32 MiB until serving stopped
// allocating: with the click drain no longer growing a map while the
// origin lags, an edge serving 1 M cached links at this limit allocated
// 9.7 MiB in an 8 s run without a collection, and collected 8 times in six
// such runs (GC 2.8 % of the CPU; docs/bench.md, "1 M links under 200 MB").
func MemoryLimit(cacheBytes int64) int64 {
	return cacheBytes + cacheBytes/16 + memoryHeadroom
}
