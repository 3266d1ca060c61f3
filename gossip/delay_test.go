package gossip

import (
	"fmt"
	"testing"
	"time"
)

// delayResult is what measureDelay found: per change, the time from
// Publish until the last of the other nodes handled it ("all"), and every
// single node's delay ("each").
type delayResult struct {
	all, each []time.Duration
	missing   int
}

// measureDelay publishes count changes from node 0 of a fresh pool of size
// nodes, one every gap, and times their delivery.
func measureDelay(tb testing.TB, size, count int, gap time.Duration) delayResult {
	nodes := startCluster(tb, size, nil)
	published := make([]time.Time, count)
	keyOf := func(i int) string { return fmt.Sprintf("delay-%d", i) }
	for i := range count {
		c := linkChange(keyOf(i), 1)
		published[i] = time.Now()
		if err := nodes[0].Publish(c); err != nil {
			tb.Fatal(err)
		}
		time.Sleep(gap)
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		done := true
		for _, n := range nodes[1:] {
			done = done && n.rec.keys() == count
		}
		if done {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	var r delayResult
	for i := range count {
		var worst time.Duration
		complete := true
		for _, n := range nodes[1:] {
			at, ok := n.rec.at("l:" + keyOf(i))
			if !ok {
				complete = false
				r.missing++
				continue
			}
			d := at.Sub(published[i])
			r.each = append(r.each, d)
			worst = max(worst, d)
		}
		if complete {
			r.all = append(r.all, worst)
		}
	}
	return r
}

// TestDeliveryDelay measures publish -> handler delay on 10 loopback
// nodes and reports percentiles; run with -v to see them:
//
//	go test -race -run TestDeliveryDelay -v ./gossip/
//
// It asserts delivery of every change to every node (without relaying,
// memberlist's own fan-out leaves members out and deliveries go missing)
// and no bound on the delay: the race detector and a shared 2-core
// machine slow it several times over, so the performance target (p99 <
// 200 ms) is for the benchmark.
func TestDeliveryDelay(t *testing.T) {
	if testing.Short() {
		t.Skip("timing measurement")
	}
	r := measureDelay(t, 10, 100, 10*time.Millisecond)
	if r.missing > 0 {
		t.Fatalf("%d deliveries missing", r.missing)
	}
	t.Logf("publish -> all 9 other nodes (n=%d): p50 %v  p90 %v  p99 %v  max %v",
		len(r.all), percentile(r.all, 50), percentile(r.all, 90), percentile(r.all, 99), percentile(r.all, 100))
	t.Logf("publish -> each node (n=%d):        p50 %v  p90 %v  p99 %v  max %v",
		len(r.each), percentile(r.each, 50), percentile(r.each, 90), percentile(r.each, 99), percentile(r.each, 100))
}

// BenchmarkDeliveryDelay reports the same figures as metrics, for a
// 10-node pool and a 30-node one (a region of the design's 3x10 target):
//
//	go test -run '^$' -bench DeliveryDelay -benchtime 200x ./gossip/
//
// b.N is the number of changes published (one every 5 ms).
func BenchmarkDeliveryDelay(b *testing.B) {
	for _, size := range []int{10, 30} {
		b.Run(fmt.Sprintf("nodes=%d", size), func(b *testing.B) {
			b.StopTimer()
			r := measureDelay(b, size, max(b.N, 10), 5*time.Millisecond)
			if r.missing > 0 {
				b.Fatalf("%d deliveries missing", r.missing)
			}
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			b.ReportMetric(ms(percentile(r.all, 50)), "p50-all-ms")
			b.ReportMetric(ms(percentile(r.all, 99)), "p99-all-ms")
			b.ReportMetric(ms(percentile(r.each, 50)), "p50-each-ms")
			b.ReportMetric(ms(percentile(r.each, 99)), "p99-each-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}
