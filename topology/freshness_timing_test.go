package topology

import (
	"testing"
	"time"
)

// BenchmarkInvalidationDelay3x10 measures write -> every edge fresh for 3
// regions x 10 edges on loopback (the DESIGN target: p99 under 200 ms).
// Each iteration is one write at a rotating region's origin, followed by
// polling all 30 edges until they serve the new version. Besides the
// figures it fails when an edge is stale past freshBound, serves a version
// older than one it served, or a write never reaches every edge (speed
// under the bound is reported, not asserted).
//
//	go test -run '^$' -bench InvalidationDelay3x10 -benchtime 200x ./topology/
func BenchmarkInvalidationDelay3x10(b *testing.B) {
	topo := startTopology(b, 3, 10, nil)
	b.ResetTimer()
	d := writeAndMeasure(b, topo, b.N)
	b.StopTimer()
	if len(d) != b.N {
		b.Fatalf("%d of %d writes reached every edge within %v", len(d), b.N, freshBound)
	}
	b.ReportMetric(float64(d.pct(0.5))/float64(time.Millisecond), "p50-ms")
	b.ReportMetric(float64(d.pct(0.99))/float64(time.Millisecond), "p99-ms")
	b.ReportMetric(float64(d.pct(1))/float64(time.Millisecond), "max-ms")
	report(b, "3 regions x 10 edges", d)
}
