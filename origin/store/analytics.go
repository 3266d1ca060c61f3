package store

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// Analytics is implemented by a Store that keeps click analytics: hourly
// series per link (human clicks, bots, and breakdowns by referrer host,
// device class, browser family and country) and a per-hour index of the
// most clicked links. Both backends implement it; the origin asserts it.
//
// A click batch is applied at most once per ID: edges retry a batch whose
// answer they did not get with the same ID and the same content, and a
// replay changes nothing. The guarantee holds per partition (a Redis
// Cluster batch touches many slots): every partition's share of a batch is
// applied atomically with its marker, so a half-applied batch completes
// on its retry without counting any partition twice.
type Analytics interface {
	// ApplyClickBatch adds b.Counts to the links' click counters (as
	// AddClicks) and b.Hours to the series, once per b.ID. It reports
	// whether every partition of the batch had been applied before.
	ApplyClickBatch(ctx context.Context, b ClickBatch) (duplicate bool, err error)
	// LinkSeries returns code's hours h with from <= h < to, oldest first;
	// hours without clicks or bots are left out.
	LinkSeries(ctx context.Context, code string, from, to time.Time) ([]HourStats, error)
	// TopLinks returns the links with the most human clicks in hours h
	// with from <= h < to, most first (ties by code), at most limit.
	TopLinks(ctx context.Context, from, to time.Time, limit int) ([]LinkCount, error)
	// PruneAnalytics removes hours before cutoff and batch markers older
	// than BatchMarkerTTL. A backend whose data expires on its own (Redis)
	// may do nothing.
	PruneAnalytics(ctx context.Context, cutoff time.Time) error
}

// BatchMarkerTTL is how long a click batch ID is remembered: an edge that
// retries for longer than this (it keeps retrying an unacknowledged batch
// until it is taken) may have it counted twice.
const BatchMarkerTTL = 24 * time.Hour

// MaxBatchIDLen bounds a click batch ID.
const MaxBatchIDLen = 128

// ClickBatch is one edge flush.
type ClickBatch struct {
	// ID is unique per edge and flush ("<edge instance>-<seq>").
	ID string
	// Counts are human clicks per code for the links' click counters.
	Counts map[string]int64
	// Hours are the series increments.
	Hours []CodeHour
	// Retention is how long series hours are kept (Redis sets it as the
	// keys' expiry; the embedded store prunes in PruneAnalytics).
	Retention time.Duration
}

// CodeHour is one link's increments for one hour.
type CodeHour struct {
	Code string
	HourStats
}

// HourStats are the counts of one link in one hour. Clicks exclude bots;
// Referrers, Browsers and Countries count clicks (humans) only; Devices
// counts clicks by class and bots under "bot". Sampled is how many of
// Clicks+Bots were classified one by one (the rest were estimated from
// them when an edge's classifier fell behind).
type HourStats struct {
	Hour      time.Time        `json:"t"`
	Clicks    int64            `json:"clicks"`
	Bots      int64            `json:"bots"`
	Sampled   int64            `json:"sampled"`
	Referrers map[string]int64 `json:"referrers,omitempty"`
	Devices   map[string]int64 `json:"devices,omitempty"`
	Browsers  map[string]int64 `json:"browsers,omitempty"`
	Countries map[string]int64 `json:"countries,omitempty"`
}

// Add adds o's counts to h (not its Hour).
func (h *HourStats) Add(o HourStats) {
	h.Clicks += o.Clicks
	h.Bots += o.Bots
	h.Sampled += o.Sampled
	h.Referrers = addCounts(h.Referrers, o.Referrers)
	h.Devices = addCounts(h.Devices, o.Devices)
	h.Browsers = addCounts(h.Browsers, o.Browsers)
	h.Countries = addCounts(h.Countries, o.Countries)
}

func addCounts(dst, src map[string]int64) map[string]int64 {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[string]int64, len(src))
	}
	for k, n := range src {
		dst[k] += n
	}
	return dst
}

// LinkCount is one entry of TopLinks.
type LinkCount struct {
	Code   string `json:"code"`
	Clicks int64  `json:"clicks"`
}

// HourOf truncates t to its UTC hour.
func HourOf(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }

// Hours lists the hour starts h with from <= h < to, from rounded down to
// its hour.
func Hours(from, to time.Time) []time.Time {
	var hs []time.Time
	for h := HourOf(from); h.Before(to); h = h.Add(time.Hour) {
		hs = append(hs, h)
	}
	return hs
}

// TopOf sorts sums into a top list: most clicks first, ties by code, at
// most limit entries.
func TopOf(sums map[string]int64, limit int) []LinkCount {
	out := make([]LinkCount, 0, len(sums))
	for c, n := range sums {
		if n > 0 {
			out = append(out, LinkCount{Code: c, Clicks: n})
		}
	}
	slices.SortFunc(out, func(a, b LinkCount) int {
		if a.Clicks != b.Clicks {
			return cmp.Compare(b.Clicks, a.Clicks)
		}
		return cmp.Compare(a.Code, b.Code)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// SplitDays covers the hours of [from, to) (as Hours) with whole UTC days
// where it can: days are the starts of the days wholly inside, hours the
// remaining hours. Top lists read a day's index instead of 24 hours'.
func SplitDays(from, to time.Time) (hours, days []time.Time) {
	h := HourOf(from)
	for h.Before(to) {
		if h.Hour() == 0 && !h.Add(24*time.Hour).After(to) {
			days = append(days, h)
			h = h.Add(24 * time.Hour)
			continue
		}
		hours = append(hours, h)
		h = h.Add(time.Hour)
	}
	return hours, days
}
