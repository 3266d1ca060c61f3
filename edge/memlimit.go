package edge

// memoryHeadroom is what an edge needs beside its cache: the runtime,
// per-connection buffers, the floors, click counters and admission
// counters.
const memoryHeadroom = 32 << 20

// MemoryLimit is the soft memory limit (runtime/debug.SetMemoryLimit) for
// an edge with a cache budget of cacheBytes: the budget, an eighth of it
// for what the budget's accounting leaves out (heap fragmentation, GC
// slack between collections) and memoryHeadroom. Without a limit a large
// cache's heap doubles before each GC (GOGC=100), which is where most of
// an edge's RSS above its cache went.
func MemoryLimit(cacheBytes int64) int64 {
	return cacheBytes + cacheBytes/8 + memoryHeadroom
}
