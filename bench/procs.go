package bench

import (
	"os"
	"runtime"
)

// embeddedProcs is the GOMAXPROCS the process runs with while it hosts an
// embedded topology: n when set, else 2 x the CPUs, unless the GOMAXPROCS
// environment variable is set (then 0: leave it).
//
// Why more Ps than CPUs: the embedded topology runs every edge and origin
// of every region (33 servers at 3 x 10), their gossip and the load
// generator in one Go runtime. A write's fan-out wakes ~100 goroutines at
// once; with one P per CPU both Ps then stay busy, and a P that has work
// queued never polls the network: only sysmon does, every 10 ms
// (golang/go#51651). Each network hop of a read (generator -> edge ->
// generator, and edge -> origin on a miss) then waits up to 10 ms before
// its goroutine is even queued, and the read tail is the scheduler's, not
// the product's. In production every server is its own process, which the
// kernel interleaves; spare Ps let the runtime do the same here (an idle P
// polls the network) at no cost in CPU. docs/cdn.md has the measurements.
func embeddedProcs(n int) int {
	if n > 0 {
		return n
	}
	if os.Getenv("GOMAXPROCS") != "" {
		return 0
	}
	return 2 * runtime.NumCPU()
}
