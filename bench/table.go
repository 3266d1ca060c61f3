package bench

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// PrintTable writes the report as a table a person can read.
func PrintTable(w io.Writer, rep *Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, a ...any) { fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, a...)) }
	p := rep.Setup
	row("profile", "%s  (%s)", rep.Profile, p.Scale)
	row("targets", "%s: %d edge(s), %d origin(s), %d region(s)%s", rep.Targets.Source, len(rep.Targets.Edges), len(rep.Targets.Origins), rep.Targets.Regions, edgeCacheNote(rep.Targets.EdgeCacheBytes))
	row("keys", "%d links, %d SKUs, Zipf s=%.2f, %.0f %% stock reads", p.Links, p.SKUs, rep.ZipfS, p.StockShare*100)
	pinned := ""
	if rep.Host.CPUs != "" {
		pinned = ", pinned to CPU " + rep.Host.CPUs
	}
	whose := "the load generator's"
	if rep.Targets.Source == "embedded" {
		whose = "servers and generator"
	}
	row("host", "%d CPU(s)%s, GOMAXPROCS %d, %s; this process used %.1f CPU s in the measured phase, %.1f us a request (%s)",
		rep.Host.NumCPU, pinned, rep.Host.GOMAXPROCS, rep.Host.GoVersion, rep.Host.ProcessCPUSeconds, rep.Host.CPUPerRequestUS, whose)
	if rep.SettleS >= 1 || rep.GossipBacklog >= settledQueue {
		row("gossip backlog", "%.0f broadcasts still queued after waiting %.0f s for the seeding's gossip to drain: the run measures its aftermath too", rep.GossipBacklog, rep.SettleS)
	}
	for _, s := range rep.Ramp {
		row("ramp step", "offered %.0f/s  achieved %.0f/s  p99 %.2f ms  unsent %d  %s", s.OfferedRPS, s.AchievedRPS, s.P99MS, s.Unsent, map[bool]string{true: "sustained", false: "NOT sustained"}[s.Sustained])
	}
	r := rep.Reads
	row("reads (edges)", "offered %.0f/s (%s)  achieved %.0f/s (%.1f %%)  over %.1f s: %d sent, %d unsent", rep.OfferedRPS, rep.RateSource, rep.AchievedRPS, pct(rep.AchievedRPS, rep.OfferedRPS), r.ElapsedS, r.Sent, r.Unsent)
	row("read latency", "%s", latencyLine(rep.LatencyMS))
	for _, st := range []string{"hit", "miss", "stale"} {
		if l, ok := r.ByCache[st]; ok {
			row("  "+st+" reads", "%s", latencyLine(l))
		}
	}
	w2 := rep.Writes
	if w2.OfferedRPS > 0 {
		row("writes (origins)", "offered %.0f/s  achieved %.0f/s (%.1f %%)  %d refused (409, expected)", w2.OfferedRPS, w2.AchievedRPS, pct(w2.AchievedRPS, w2.OfferedRPS), w2.Rejected)
		row("write latency", "%s", latencyLine(w2.Latency))
	}
	row("edge hit ratio", "%.2f %%  (%d hits, %d misses, %d stale answers)", rep.HitRatio*100, r.Hits, r.Misses, r.StaleHit)
	row("origin calls", "%.1f/s from edges  (%s);  origins served %.1f req/s", rep.OriginRPS, perSecond(rep.OriginCallsPerS), rep.OriginRequestsRPS)
	iv := rep.Invalidation
	if w2.OfferedRPS > 0 {
		row("invalidation", "write -> every edge: p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms  (%d writes probed, %d of them seen old first, %d late; not probed: %d over the probe rate, %d slots busy)", rep.InvalidationMS.P50, rep.InvalidationMS.P90, rep.InvalidationMS.P99, rep.InvalidationMS.Max, iv.Probed, iv.SawOld, iv.Unconverged, iv.Unsampled, iv.Skipped)
	}
	row("stale reads", "%d after the %.0f ms bound  (%d by the load, %d edges late for a probe)", rep.StaleReads, rep.StaleBoundMS, rep.StaleReadsLoad, rep.StaleReadsProbe)
	if w2.OfferedRPS > 0 {
		a := rep.Audit
		row("stock audit", "%d oversells, %d mismatches over %d SKUs touched (%d warehouses with lost answers, checked by bounds)", a.Oversells, a.Mismatches, a.SKUs, a.Uncertain)
		for _, f := range a.Findings {
			row("", "%s", f)
		}
	}
	row("errors", "%d  %s", rep.ErrorsTotal, kinds(rep.Errors))
	if c := rep.Compare; c != nil {
		for _, r := range c.Rounds {
			row("compare round", "%d %s: achieved %.0f/s of %.0f/s  p50 %.3f ms  p99 %.3f ms  hit ratio %.3f", r.Round, r.Target, r.AchievedRPS, r.OfferedRPS, r.P50MS, r.P99MS, r.HitRatio)
		}
		row("compare", "edge %.0f/s vs bare fixed 302 %.0f/s at %.0f/s offered: ratio %.3f; p99 %.3f vs %.3f ms", c.EdgeRPS, c.BareRPS, c.RateRPS, c.Ratio, c.EdgeP99MS, c.BareP99MS)
		if c.BothKeptUp {
			row("", "both kept up with the offered rate: the rate ratio says nothing about capacity, compare latencies (or raise --compare-rate)")
		}
	}
	return tw.Flush()
}

func latencyLine(l Latency) string {
	return fmt.Sprintf("p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms", l.P50, l.P90, l.P99, l.P999, l.Max)
}

func pct(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * a / b
}

func perSecond(m map[string]float64) string {
	if len(m) == 0 {
		return "none"
	}
	return joinSorted(m, "%s %.1f")
}

func kinds(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	return "(" + joinSorted(m, "%s %d") + ")"
}

// joinSorted renders a map as "k v, k v" in key order.
func joinSorted[V any](m map[string]V, format string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf(format, k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// edgeCacheNote names the embedded edges' cache budget, if set.
func edgeCacheNote(b int64) string {
	if b == 0 {
		return ""
	}
	return fmt.Sprintf("; edge cache %d MiB each (sized to the keys)", b>>20)
}
