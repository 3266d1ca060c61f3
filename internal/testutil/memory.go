package testutil

import (
	"bytes"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"
)

// SettleHeap collects until the heap stops shrinking, so that what earlier
// benchmarks leave behind (servers whose goroutines are still winding down,
// pools) is gone before the baseline is read, not freed during the
// measurement.
func SettleHeap() {
	var ms runtime.MemStats
	prev := uint64(math.MaxUint64)
	for range 20 {
		debug.FreeOSMemory()
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc+1<<20 > prev {
			return
		}
		prev = ms.HeapAlloc
		time.Sleep(100 * time.Millisecond)
	}
}

// ResidentBytes returns the process's resident set size; it skips tb where
// /proc/self/statm is missing.
func ResidentBytes(tb testing.TB) int64 {
	tb.Helper()
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		tb.Skip("no /proc/self/statm:", err)
	}
	f := bytes.Fields(statm)
	if len(f) < 2 {
		tb.Fatalf("statm %q", statm)
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		tb.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}
