package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
)

// memReading is the process's memory and GC at one moment, for --memory.
type memReading struct {
	rssKiB, hwmKiB  int64 // VmRSS and VmHWM (peak) from /proc/self/status
	heapInuse, live uint64
	allocated       uint64 // bytes allocated since the process started
	limit           int64
	numGC           uint32
	gcCPU, totalCPU float64 // cpu-seconds, runtime/metrics
	pauses          *metrics.Float64Histogram
}

func readMemory() memReading {
	var r memReading
	if f, err := os.Open("/proc/self/status"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var v int64
			if _, err := fmt.Sscanf(sc.Text(), "VmRSS: %d kB", &v); err == nil {
				r.rssKiB = v
			} else if _, err := fmt.Sscanf(sc.Text(), "VmHWM: %d kB", &v); err == nil {
				r.hwmKiB = v
			}
		}
		f.Close()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.heapInuse, r.live, r.numGC, r.allocated = ms.HeapInuse, ms.HeapAlloc, ms.NumGC, ms.TotalAlloc
	r.limit = debug.SetMemoryLimit(-1)
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/total:cpu-seconds"}, {Name: "/sched/pauses/total/gc:seconds"}}
	metrics.Read(s)
	r.gcCPU, r.totalCPU = s[0].Value.Float64(), s[1].Value.Float64()
	if s[2].Value.Kind() == metrics.KindFloat64Histogram {
		r.pauses = s[2].Value.Float64Histogram()
	}
	return r
}

func (r memReading) String() string {
	limit := "none"
	if r.limit != math.MaxInt64 {
		limit = fmt.Sprintf("%.1f MiB", float64(r.limit)/(1<<20))
	}
	return fmt.Sprintf("rss %.1f MiB (peak %.1f MiB), heap in use %.1f MiB, heap allocated %.1f MiB, limit %s, %d GCs",
		float64(r.rssKiB)/1024, float64(r.hwmKiB)/1024, float64(r.heapInuse)/(1<<20), float64(r.live)/(1<<20), limit, r.numGC)
}

// since describes the GC work between two readings: cycles, the GC's share
// of the process's CPU (runtime/metrics' estimate, which includes idle
// mark workers) and the stop-the-world pauses' p99, p999 and max.
func (r memReading) since(o memReading) string {
	share := 0.0
	if d := r.totalCPU - o.totalCPU; d > 0 {
		share = 100 * (r.gcCPU - o.gcCPU) / d
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%.1f MiB allocated, %d GCs, GC %.1f %% of CPU", float64(r.allocated-o.allocated)/(1<<20), r.numGC-o.numGC, share)
	if r.pauses != nil && o.pauses != nil {
		counts := make([]uint64, len(r.pauses.Counts))
		var n uint64
		for i := range counts {
			counts[i] = r.pauses.Counts[i] - o.pauses.Counts[i]
			n += counts[i]
		}
		q := func(p float64) float64 {
			want := uint64(math.Ceil(p * float64(n)))
			var seen uint64
			for i, c := range counts {
				seen += c
				if seen >= want && c > 0 {
					return r.pauses.Buckets[i+1]
				}
			}
			return 0
		}
		if n > 0 {
			fmt.Fprintf(&b, ", %d pauses: p99 <= %.0f us, p999 <= %.0f us, max <= %.0f us", n, q(0.99)*1e6, q(0.999)*1e6, q(1)*1e6)
		}
	}
	return b.String()
}
