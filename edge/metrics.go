package edge

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shortstock/shortstock/edge/cache"
	"github.com/shortstock/shortstock/internal/keys"
)

type metrics struct {
	// answers[kind][state] are resolved once: the hit path only Incs.
	answers     [2][4]prometheus.Counter
	negative    [2]prometheus.Counter
	rejected    *prometheus.CounterVec // 400/404/405 by reason
	rejBadCode  prometheus.Counter
	rejBadSKU   prometheus.Counter
	rejNotFound prometheus.Counter
	rejMethod   prometheus.Counter
	unavail     prometheus.Counter
	notCached   prometheus.Counter

	originCalls   *prometheus.CounterVec
	originErrors  *prometheus.CounterVec
	originLatency *prometheus.HistogramVec

	invalidationDelay prometheus.Histogram
	changesBad        prometheus.Counter
	purges            prometheus.Counter
	gapReplays        prometheus.Counter
	changesReplayed   prometheus.Counter
	partitionDrops    prometheus.Counter

	clicksFlushed     prometheus.Counter
	clickFlushErrors  prometheus.Counter
	clicksPendingSize prometheus.Gauge

	// connTimeouts counts connections whose timeout fired, by timeout
	// (deadlines.go; with coarse timeouts only).
	connTimeouts *prometheus.CounterVec

	// Click analytics (analytics.go).
	anClassified prometheus.Counter
	anSkipped    prometheus.Counter
	anSampleRate prometheus.Gauge
}

func kindIdx(k keys.Kind) int {
	if k == keys.KindStock {
		return 1
	}
	return 0
}

func newMetrics(reg prometheus.Registerer, region, node string, c *cache.Cache) (*metrics, error) {
	reg = prometheus.WrapRegistererWith(prometheus.Labels{"region": region, "node": node}, reg)
	answers := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shortstock_edge_answers_total", Help: "Cached answers by kind (link, stock) and X-Cache state (hit, miss, stale).",
	}, []string{"kind", "cache"})
	negative := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shortstock_edge_negative_answers_total", Help: "Cached answers that were a 404, by kind.",
	}, []string{"kind"})
	m := &metrics{
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shortstock_edge_rejected_total", Help: "Requests answered without a lookup, by reason.",
		}, []string{"reason"}),
		notCached: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shortstock_edge_not_cached_total", Help: "Requests with Cache-Control: only-if-cached answered 504: nothing servable cached here.",
		}),
		unavail: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shortstock_edge_unavailable_total", Help: "Requests answered 503: not cached and no origin answered.",
		}),
		originCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shortstock_edge_origin_requests_total", Help: "Requests to origins by endpoint.",
		}, []string{"endpoint"}),
		originErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shortstock_edge_origin_errors_total", Help: "Failed requests to origins by endpoint.",
		}, []string{"endpoint"}),
		originLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "shortstock_edge_origin_request_seconds", Help: "Latency of requests to origins by endpoint.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 12),
		}, []string{"endpoint"}),
		invalidationDelay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "shortstock_edge_invalidation_delay_seconds", Help: "From a write applied in storage to its invalidation applied here.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		changesBad: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shortstock_edge_changes_malformed_total", Help: "Changes ignored because they did not validate.",
		}),
		purges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shortstock_edge_purges_applied_total", Help: "Purges applied from the change log (gossip or catch-up).",
		}),
		gapReplays: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shortstock_edge_gap_replays_total", Help: "Catch-up reads of a partition's change log after a gap or a watermark ahead of ours.",
		}),
		changesReplayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shortstock_edge_changes_replayed_total", Help: "Changes applied from the change log rather than gossip.",
		}),
		partitionDrops: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shortstock_edge_partition_drops_total", Help: "Partitions whose entries were all dropped because the log no longer held the changes missed.",
		}),
		clicksFlushed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shortstock_edge_clicks_flushed_total", Help: "Clicks delivered to the origin.",
		}),
		anClassified: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shortstock_edge_analytics_classified_total", Help: "Clicks classified one by one (referrer, device, browser, country).",
		}),
		anSkipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shortstock_edge_analytics_skipped_total", Help: "Clicks not classified because the classifier was behind (sampled out or queue full); counted, and their detail estimated.",
		}),
		anSampleRate: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shortstock_edge_analytics_sample_rate", Help: "Share of the last flush period's clicks that were classified (1 = all).",
		}),
		clickFlushErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shortstock_edge_click_flush_errors_total", Help: "Click batches the origin did not take (kept for the next flush).",
		}),
		clicksPendingSize: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shortstock_edge_clicks_pending_codes", Help: "Codes with clicks not yet delivered.",
		}),
		connTimeouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shortstock_edge_connection_timeouts_total",
			Help: "Client connections whose timeout fired: read (the first request, or one under way: a 408), idle (keep-alive, closed) or write. Counted with coarse timeouts (Config.DeadlineResolution >= 0) only.",
		}, []string{"timeout"}),
	}
	st := c.Stats()
	cs := []prometheus.Collector{
		answers, negative, m.rejected, m.unavail, m.notCached, m.originCalls, m.originErrors, m.originLatency,
		m.invalidationDelay, m.changesBad, m.purges, m.gapReplays, m.changesReplayed, m.partitionDrops,
		m.clicksFlushed, m.clickFlushErrors, m.clicksPendingSize, m.anClassified, m.anSkipped, m.anSampleRate, m.connTimeouts,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "shortstock_edge_cache_cost_bytes", Help: "Bytes the cached entries account for.",
		}, func() float64 { return float64(c.Cost()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "shortstock_edge_cache_entries", Help: "Cached entries (counted at scrape time).",
		}, func() float64 { return float64(c.Len()) }),
		counterFunc("shortstock_edge_invalidations_applied_total", "Invalidations that raised a key's version.", st.Invalidations.Load),
		counterFunc("shortstock_edge_invalidations_refused_total", "Invalidations not newer than a version already seen (duplicates, replays).", st.InvalidationsRefused.Load),
		counterFunc("shortstock_edge_fills_refused_total", "Origin answers refused for being older than a known invalidation.", st.FillsRefused.Load),
		counterFunc("shortstock_edge_stale_entries_dropped_total", "Cached entries found older than a known invalidation when about to be served.", st.StaleDropped.Load),
		counterFunc("shortstock_edge_revalidations_total", "Background refreshes started for entries served past their TTL (stale-while-revalidate).", st.Revalidations.Load),
		counterFunc("shortstock_edge_soft_purges_total", "Cached entries marked stale by a soft purge.", st.SoftPurges.Load),
		counterFunc("shortstock_edge_pushed_updates_total", "Answers pushed with a change and installed in place of an older cached entry (no origin fetch).", st.Updates.Load),
		counterFunc("shortstock_edge_pushed_updates_skipped_total", "Answers pushed with a change and not installed: the key was not cached here, or not older.", st.UpdatesSkipped.Load),
		counterFunc("shortstock_edge_cache_loads_total", "Origin fetches that filled the cache.", st.Loads.Load),
		counterFunc("shortstock_edge_cache_load_errors_total", "Origin fetches that failed.", st.LoadErrors.Load),
	}
	for _, col := range cs {
		if err := reg.Register(col); err != nil {
			return nil, err
		}
	}
	for ki, kind := range []string{"link", "stock"} {
		for si, state := range []string{"miss", "hit", "stale", "revalidating"} { // index = cache.State
			m.answers[ki][si] = answers.WithLabelValues(kind, state)
		}
		m.negative[ki] = negative.WithLabelValues(kind)
	}
	for _, name := range timeoutNames {
		m.connTimeouts.WithLabelValues(name) // shown at 0 from the start
	}
	m.rejBadCode = m.rejected.WithLabelValues("bad_code")
	m.rejBadSKU = m.rejected.WithLabelValues("bad_sku")
	m.rejNotFound = m.rejected.WithLabelValues("not_found")
	m.rejMethod = m.rejected.WithLabelValues("method")
	return m, nil
}

func counterFunc(name, help string, f func() int64) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(f()) })
}
