package origin

import (
	"cmp"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

// Click analytics: GET /v1/links/{code}/stats and GET /v1/stats/top.

// maxTopLimit bounds /v1/stats/top?limit=.
const maxTopLimit = 1000

// breakdownTop is how many entries of each breakdown a stats answer lists;
// the rest are summed under "other".
const breakdownTop = 25

type seriesPoint struct {
	T      time.Time `json:"t"`
	Clicks int64     `json:"clicks"`
	Bots   int64     `json:"bots"`
}

// linkAnalyticsView is linkStatsView plus the analytics of a period.
type linkAnalyticsView struct {
	linkStatsView
	// LinkClicks is the link's own counter: human clicks ever counted,
	// beyond the retention too.
	LinkClicks  int64            `json:"link_clicks"`
	Bots        int64            `json:"bots"`
	From        time.Time        `json:"from"`
	To          time.Time        `json:"to"`
	Granularity string           `json:"granularity"`
	Series      []seriesPoint    `json:"series"`
	Referrers   map[string]int64 `json:"referrers"`
	Devices     map[string]int64 `json:"devices"`
	Browsers    map[string]int64 `json:"browsers"`
	Countries   map[string]int64 `json:"countries"`
	// SampleRate is the share of clicks and bots classified one by one;
	// below 1 the breakdowns are estimates (an edge's classifier fell
	// behind and sampled).
	SampleRate float64 `json:"sample_rate"`
}

// period parses from= and to= (RFC3339 or YYYY-MM-DD, UTC). Defaults: to
// is the end of the current hour, from is def(to). A period is at most
// the retention long.
func (s *Server) period(q url.Values, def func(to time.Time) time.Time) (time.Time, time.Time, *apiError) {
	to := store.HourOf(s.cfg.Clock.Now()).Add(time.Hour)
	if v := q.Get("to"); v != "" {
		t, ok := parseWhen(v)
		if !ok {
			return time.Time{}, time.Time{}, badRequest("invalid_time", "to must be RFC3339 (2031-01-02T15:04:05Z) or a date (2031-01-02)")
		}
		to = t
	}
	from := def(to)
	if v := q.Get("from"); v != "" {
		t, ok := parseWhen(v)
		if !ok {
			return time.Time{}, time.Time{}, badRequest("invalid_time", "from must be RFC3339 (2031-01-02T15:04:05Z) or a date (2031-01-02)")
		}
		from = t
	}
	if !from.Before(to) {
		return time.Time{}, time.Time{}, badRequest("invalid_range", "from must be before to")
	}
	if to.Sub(from) > s.cfg.AnalyticsRetention+24*time.Hour {
		return time.Time{}, time.Time{}, badRequest("invalid_range", "the period is longer than the analytics retention ("+s.cfg.AnalyticsRetention.String()+")")
	}
	return from, to, nil
}

func parseWhen(v string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, v); err == nil && t.Year() >= 1970 && t.Year() < 10000 {
		return t.UTC(), true
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil && t.Year() >= 1970 {
		return t, true
	}
	return time.Time{}, false
}

func (s *Server) linkAnalytics(w http.ResponseWriter, r *http.Request) {
	a, ok := s.store.(store.Analytics)
	if !ok {
		s.linkStats(w, r) // a store without analytics: the click counter only
		return
	}
	code, ae := pathCode(r)
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	ctx, cancel := s.opContext(r)
	defer cancel()
	l, err := s.adminGetLink(ctx, code)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			err = linkNotFound(code)
		}
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	// By default, the link's whole life within the retention.
	from, to, ae := s.period(q, func(to time.Time) time.Time {
		return maxTime(store.HourOf(l.CreatedAt), to.Add(-s.cfg.AnalyticsRetention))
	})
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	gran := q.Get("granularity")
	switch gran {
	case "":
		gran = "hour"
		if to.Sub(from) > 7*24*time.Hour {
			gran = "day"
		}
	case "hour", "day":
	default:
		s.writeError(w, r, badRequest("invalid_granularity", "granularity is hour or day"))
		return
	}
	hours, err := a.LinkSeries(ctx, code, from, to)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v := linkAnalyticsView{
		linkStatsView: linkStatsView{Code: l.Code, Version: l.Version, CreatedAt: l.CreatedAt, ExpiresAt: l.ExpiresAt, Expired: l.Expired(s.cfg.Clock.Now())},
		LinkClicks:    l.Clicks, From: from, To: to, Granularity: gran, SampleRate: 1,
	}
	v.Series = buckets(from, to, gran)
	var sum store.HourStats
	for _, h := range hours {
		sum.Add(h)
		i := bucketIndex(from, h.Hour, gran)
		if i >= 0 && i < len(v.Series) {
			v.Series[i].Clicks += h.Clicks
			v.Series[i].Bots += h.Bots
		}
	}
	v.Clicks, v.Bots = sum.Clicks, sum.Bots
	v.Referrers, v.Devices = topOf(sum.Referrers), topOf(sum.Devices)
	v.Browsers, v.Countries = topOf(sum.Browsers), topOf(sum.Countries)
	if n := sum.Clicks + sum.Bots; n > 0 {
		v.SampleRate = min(1, float64(sum.Sampled)/float64(n))
	}
	writeJSON(w, http.StatusOK, v)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// buckets are the zero-filled series points of [from, to).
func buckets(from, to time.Time, gran string) []seriesPoint {
	step, start := time.Hour, store.HourOf(from)
	if gran == "day" {
		step, start = 24*time.Hour, from.UTC().Truncate(24*time.Hour)
	}
	var out []seriesPoint
	for t := start; t.Before(to); t = t.Add(step) {
		out = append(out, seriesPoint{T: t})
	}
	return out
}

func bucketIndex(from, h time.Time, gran string) int {
	if gran == "day" {
		return int(h.Sub(from.UTC().Truncate(24*time.Hour)) / (24 * time.Hour))
	}
	return int(h.Sub(store.HourOf(from)) / time.Hour)
}

// topOf keeps the breakdownTop largest entries and sums the rest under
// "other"; never nil, so the JSON is {} rather than null.
func topOf(m map[string]int64) map[string]int64 {
	out := map[string]int64{}
	if len(m) <= breakdownTop {
		for k, n := range m {
			out[k] = n
		}
		return out
	}
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) })
	for i, k := range ks {
		if i < breakdownTop-1 {
			out[k] = m[k]
		} else {
			out["other"] += m[k]
		}
	}
	return out
}

func (s *Server) topLinks(w http.ResponseWriter, r *http.Request) {
	a, ok := s.store.(store.Analytics)
	if !ok {
		s.writeError(w, r, &apiError{http.StatusNotImplemented, "not_implemented", "this store keeps no click analytics"})
		return
	}
	q := r.URL.Query()
	from, to, ae := s.period(q, func(to time.Time) time.Time { return to.Add(-24 * time.Hour) })
	if ae != nil {
		s.writeError(w, r, ae)
		return
	}
	limit := 10
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxTopLimit {
			s.writeError(w, r, badRequest("invalid_limit", "limit must be between 1 and "+strconv.Itoa(maxTopLimit)))
			return
		}
		limit = n
	}
	ctx, cancel := s.opContext(r)
	defer cancel()
	top, err := a.TopLinks(ctx, from, to, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if top == nil {
		top = []store.LinkCount{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"links": top, "from": from, "to": to})
}
