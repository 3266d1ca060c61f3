package bench

import (
	"maps"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram bounds, in microseconds: 1 us to 2 minutes, 3 significant
// digits for the whole run; the per-second ones keep 2 (1 %), plenty for a
// chart and a tenth of the memory.
const (
	histMin     = 1
	histMax     = int64(2 * time.Minute / time.Microsecond)
	histDigits  = 3
	slotDigits  = 2
	maxSlotSpan = 24 * time.Hour
)

// Recorder collects the outcomes of one stream of operations: an
// HdrHistogram of latencies for the whole run, one per second of the run
// for the charts, and counts by outcome. It is safe for concurrent use:
// one short critical section a record costs far less than the request.
type Recorder struct {
	start time.Time

	mu       sync.Mutex
	all      *hdrhistogram.Histogram
	slots    []*slot
	errs     map[string]int64
	cache    [numCacheStates]int64
	byCache  [numCacheStates]*hdrhistogram.Histogram // reads' latency by X-Cache state, made on first use
	count    int64
	ok       int64
	rejected int64
	stale    int64

	// Read without the lock by the progress line.
	liveDone atomic.Int64
	liveErrs atomic.Int64
}

type slot struct {
	hist *hdrhistogram.Histogram
	ok   int64
	errs int64
}

// NewRecorder returns a Recorder for a run starting at start and lasting
// about span (answers after that go into the last second's slot).
func NewRecorder(start time.Time, span time.Duration) *Recorder {
	n := int(min(span, maxSlotSpan)/time.Second) + 1
	return &Recorder{
		start: start,
		all:   hdrhistogram.New(histMin, histMax, histDigits),
		slots: make([]*slot, n),
		errs:  map[string]int64{},
	}
}

// Record adds one operation, due at due and answered (or failed) at done.
// Its latency counts from due, failed operations included: a timeout
// counts as the time it kept a worker waiting.
func (r *Recorder) Record(due, done time.Time, o Outcome) {
	us := max(histMin, min(histMax, done.Sub(due).Microseconds()))
	i := max(0, min(len(r.slots)-1, int(done.Sub(r.start)/time.Second)))
	r.liveDone.Add(1)
	if o.Err != "" {
		r.liveErrs.Add(1)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_ = r.all.RecordValue(us) // in range by construction
	s := r.slots[i]
	if s == nil {
		s = &slot{hist: hdrhistogram.New(histMin, histMax, slotDigits)}
		r.slots[i] = s
	}
	_ = s.hist.RecordValue(us)
	r.count++
	r.cache[o.Cache]++
	if o.Cache != CacheNone {
		h := r.byCache[o.Cache]
		if h == nil {
			h = hdrhistogram.New(histMin, histMax, histDigits)
			r.byCache[o.Cache] = h
		}
		_ = h.RecordValue(us)
	}
	switch {
	case o.Err != "":
		r.errs[o.Err]++
		s.errs++
	case o.Rejected:
		r.rejected++
		s.ok++ // answered as it should be
	default:
		r.ok++
		s.ok++
	}
	if o.Stale {
		r.stale++
	}
}

// Latency is a latency distribution in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Second is one second of a run, for the charts.
type Second struct {
	T      int     `json:"t"` // seconds since the start
	OK     int64   `json:"ok"`
	Errors int64   `json:"errors"`
	P50    float64 `json:"p50_ms"`
	P99    float64 `json:"p99_ms"`
	Max    float64 `json:"max_ms"`
}

// Quantile is one point of a latency spectrum.
type Quantile struct {
	Q  float64 `json:"q"` // 0-100
	Ms float64 `json:"ms"`
}

// Summary is what a Recorder saw.
type Summary struct {
	Count    int64            `json:"count"`
	OK       int64            `json:"ok"`
	Rejected int64            `json:"rejected"`
	Stale    int64            `json:"stale"`
	Errors   map[string]int64 `json:"errors"`
	Hits     int64            `json:"hits"`
	Misses   int64            `json:"misses"`
	StaleHit int64            `json:"stale_answers"`
	Latency  Latency          `json:"latency_ms"`
	// ByCache splits the reads' latency by X-Cache state ("hit", "miss",
	// "stale"): where a tail comes from, the cache or the origin behind it.
	ByCache  map[string]Latency `json:"latency_by_cache_ms,omitempty"`
	Series   []Second           `json:"series"`
	Spectrum []Quantile         `json:"spectrum"`
}

// HitRatio is hits over answers that carried X-Cache (0 with none).
func (s Summary) HitRatio() float64 {
	n := s.Hits + s.Misses + s.StaleHit
	if n == 0 {
		return 0
	}
	return float64(s.Hits) / float64(n)
}

// spectrumQs are the percentiles the percentile chart plots.
var spectrumQs = []float64{0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100}

// Summary returns what was recorded so far.
func (r *Recorder) Summary() Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Summary{
		Count: r.count, OK: r.ok, Rejected: r.rejected, Stale: r.stale,
		Errors: maps.Clone(r.errs),
		Hits:   r.cache[CacheHit], Misses: r.cache[CacheMiss], StaleHit: r.cache[CacheStale],
		Latency: latencyOf(r.all),
	}
	for st, h := range r.byCache {
		if h != nil {
			if s.ByCache == nil {
				s.ByCache = map[string]Latency{}
			}
			s.ByCache[CacheState(st).String()] = latencyOf(h)
		}
	}
	if r.count > 0 {
		for _, q := range spectrumQs {
			s.Spectrum = append(s.Spectrum, Quantile{Q: q, Ms: usToMs(r.all.ValueAtQuantile(q))})
		}
	}
	last := -1
	for i, sl := range r.slots {
		if sl != nil {
			last = i
		}
	}
	for i := 0; i <= last; i++ {
		sec := Second{T: i}
		if sl := r.slots[i]; sl != nil {
			sec.OK, sec.Errors = sl.ok, sl.errs
			sec.P50, sec.P99, sec.Max = usToMs(sl.hist.ValueAtQuantile(50)), usToMs(sl.hist.ValueAtQuantile(99)), usToMs(sl.hist.Max())
		}
		s.Series = append(s.Series, sec)
	}
	return s
}

// recentP99 is the p99 of the last complete second at now (in the first
// second, of that second so far), for the progress line.
func (r *Recorder) recentP99(now time.Time) float64 {
	i := max(0, int(now.Sub(r.start)/time.Second)-1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if i < 0 || i >= len(r.slots) || r.slots[i] == nil {
		return 0
	}
	return usToMs(r.slots[i].hist.ValueAtQuantile(99))
}

func latencyOf(h *hdrhistogram.Histogram) Latency {
	if h.TotalCount() == 0 {
		return Latency{}
	}
	return Latency{
		P50: usToMs(h.ValueAtQuantile(50)), P90: usToMs(h.ValueAtQuantile(90)),
		P99: usToMs(h.ValueAtQuantile(99)), P999: usToMs(h.ValueAtQuantile(99.9)),
		Max: usToMs(h.Max()), Mean: h.Mean() / 1000,
	}
}

func usToMs(us int64) float64 { return float64(us) / 1000 }
