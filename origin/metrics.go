package origin

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests       *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	authFailures   *prometheus.CounterVec
	holdsExpired   prometheus.Counter
	changesTailed  prometheus.Counter
	valuesPushed   *prometheus.CounterVec
	purges         *prometheus.CounterVec
	tailErrors     prometheus.Counter
	clicksRecorded prometheus.Counter
	coldClicksLost prometheus.Counter
	// clickBatchReplays counts click batches applied before (analytics_ingest.go).
	clickBatchReplays prometheus.Counter
	rateLimited       *prometheus.CounterVec
	forbidden         prometheus.Counter
	primaryReads      prometheus.Counter
	trackedIPs        prometheus.GaugeFunc
	bulkLines         *prometheus.CounterVec
	jobSteps          prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, region string, trackedIPs func() float64) (*metrics, error) {
	reg = prometheus.WrapRegistererWith(prometheus.Labels{"region": region}, reg)
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shortstock_origin_requests_total", Help: "Origin HTTP requests by route and status.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "shortstock_origin_request_seconds", Help: "Origin HTTP request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 12),
		}, []string{"route"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shortstock_origin_auth_failures_total", Help: "Requests refused for a missing or wrong key.",
		}, []string{"api"}),
		primaryReads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shortstock_origin_primary_reads_total",
			Help: "Edge fetches the plain (replica) read could not answer at the version asked for, read again from the primary.",
		}),
		bulkLines: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shortstock_origin_bulk_lines_total", Help: "Bulk stock lines received, by outcome at parse time (queued, invalid).",
		}, []string{"outcome"}),
		jobSteps: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "shortstock_origin_job_step_seconds", Help: "Time of one bulk job step (one chunk of lines applied).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 10),
		}),
		holdsExpired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shortstock_origin_holds_expired_total", Help: "Held reservations released because their time ran out.",
		}),
		purges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shortstock_origin_purges_total", Help: "Purge requests logged, by kind.",
		}, []string{"kind"}),
		changesTailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shortstock_origin_changes_published_total", Help: "Changes read from the storage change log and published.",
		}),
		valuesPushed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shortstock_origin_values_pushed_total",
			Help: "Changes published, by whether the key's new answer went with them (pushed) or why not (busy: a backlog page; moved_on: the key changed again; too_large; error).",
		}, []string{"result"}),
		tailErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shortstock_origin_tail_errors_total", Help: "Failed reads of the storage change log.",
		}),
		clicksRecorded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shortstock_origin_clicks_recorded_total", Help: "Clicks received from edges.",
		}),
		coldClicksLost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shortstock_origin_cold_clicks_lost_total", Help: "Clicks of cold links not counted because the cold store could not promote them.",
		}),
		clickBatchReplays: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shortstock_origin_click_batch_replays_total", Help: "Click batches an edge resent after they were applied; counted once.",
		}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shortstock_origin_rate_limited_total", Help: "Admin requests refused 429 by limit (ip, auth_failures, key).",
		}, []string{"limit"}),
		forbidden: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shortstock_origin_forbidden_total", Help: "Admin requests refused 403 because the key's scopes do not cover them.",
		}),
		trackedIPs: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "shortstock_origin_rate_limit_tracked_ips", Help: "Client IPs the admin rate limits currently remember.",
		}, trackedIPs),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.authFailures, m.holdsExpired, m.changesTailed, m.valuesPushed, m.purges, m.tailErrors, m.clicksRecorded, m.coldClicksLost, m.clickBatchReplays, m.rateLimited, m.forbidden, m.primaryReads, m.trackedIPs, m.bulkLines, m.jobSteps} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

// Unwrap lets http.ResponseController reach the connection (flushes and
// write deadlines for the movement feed's long polls and SSE).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *Server) instrument(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		s.metrics.requests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
		s.metrics.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

func asMaxBytes(err error, target **http.MaxBytesError) bool { return errors.As(err, target) }
