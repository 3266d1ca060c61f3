package tiering

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	coldReads, promotions, runs, evicted, kept, unavailable prometheus.Counter
	falsePos, corrupt                                       prometheus.CounterFunc
}

func newMetrics(t *Tiering) metrics {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	stat := func(f func(s statsView) int64) func() float64 {
		return func() float64 {
			if tr := t.tier.Load(); tr != nil {
				st := tr.Stats()
				return float64(f(statsView{st.FalsePositives, st.Corrupt}))
			}
			return 0
		}
	}
	return metrics{
		coldReads:   c("shortstock_cold_reads_total", "Hot misses answered from the cold tier (one ranged read each)."),
		promotions:  c("shortstock_cold_promotions_total", "Cold links promoted back to the hot store."),
		runs:        c("shortstock_cold_mover_runs_total", "Mover passes."),
		evicted:     c("shortstock_cold_evicted_total", "Links moved from the hot store to the cold tier."),
		kept:        c("shortstock_cold_evictions_refused_total", "Evictions refused because the link was written or clicked after it was listed."),
		unavailable: c("shortstock_cold_unavailable_total", "Cold store operations that failed (unreachable or timed out)."),
		falsePos: prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "shortstock_cold_bloom_false_positives_total", Help: "Segment filters that said maybe for a code the segment's index does not hold.",
		}, stat(func(s statsView) int64 { return s.falsePos })),
		corrupt: prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "shortstock_cold_corrupt_total", Help: "Corrupt or truncated cold segments or records detected (never served).",
		}, stat(func(s statsView) int64 { return s.corrupt })),
	}
}

type statsView struct{ falsePos, corrupt int64 }

func (m metrics) all() []prometheus.Collector {
	return []prometheus.Collector{m.coldReads, m.promotions, m.runs, m.evicted, m.kept, m.unavailable, m.falsePos, m.corrupt}
}
