package storetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

// analytics returns s as store.Analytics, or skips: analytics are optional.
func analytics(t *testing.T, s store.Store) store.Analytics {
	t.Helper()
	a, ok := s.(store.Analytics)
	if !ok {
		t.Skip("store does not implement store.Analytics")
	}
	return a
}

func hourStats(h time.Time, clicks, bots int64, ref, dev string) store.HourStats {
	st := store.HourStats{Hour: h, Clicks: clicks, Bots: bots, Sampled: clicks + bots,
		Devices: map[string]int64{}}
	if clicks > 0 {
		st.Referrers = map[string]int64{ref: clicks}
		st.Devices[dev] = clicks
		st.Browsers = map[string]int64{"Chrome": clicks}
		st.Countries = map[string]int64{"unknown": clicks}
	}
	if bots > 0 {
		st.Devices["bot"] = bots
	}
	return st
}

func mustApply(t *testing.T, a store.Analytics, b store.ClickBatch, wantDup bool) {
	t.Helper()
	dup, err := a.ApplyClickBatch(t.Context(), b)
	if err != nil {
		t.Fatalf("ApplyClickBatch(%s): %v", b.ID, err)
	}
	if dup != wantDup {
		t.Fatalf("ApplyClickBatch(%s) duplicate = %v, want %v", b.ID, dup, wantDup)
	}
}

func testAnalyticsSeries(t *testing.T, s store.Store) {
	a := analytics(t, s)
	mustCreate(t, s, newLink("an1", "https://example.com/a"))
	h0, h1 := store.HourOf(t0), store.HourOf(t0).Add(time.Hour)
	mustApply(t, a, store.ClickBatch{ID: "edge-a-1", Counts: map[string]int64{"an1": 5},
		Hours: []store.CodeHour{{Code: "an1", HourStats: hourStats(h0, 3, 1, "news.example", "mobile")},
			{Code: "an1", HourStats: hourStats(h1, 2, 0, "direct", "desktop")}}}, false)
	mustApply(t, a, store.ClickBatch{ID: "edge-b-1", Counts: map[string]int64{"an1": 1},
		Hours: []store.CodeHour{{Code: "an1", HourStats: hourStats(h0.Add(30*time.Minute), 1, 2, "news.example", "mobile")}}}, false)
	if got := mustGetLink(t, s, "an1").Clicks; got != 6 {
		t.Fatalf("link clicks %d after two batches, want 6", got)
	}
	got, err := a.LinkSeries(t.Context(), "an1", h0, h1.Add(time.Hour))
	if err != nil {
		t.Fatalf("LinkSeries: %v", err)
	}
	want := []store.HourStats{hourStats(h0, 4, 3, "news.example", "mobile"), hourStats(h1, 2, 0, "direct", "desktop")}
	if !sameSeries(got, want) {
		t.Fatalf("series\n got %s\nwant %s", fmtSeries(got), fmtSeries(want))
	}
	// [from, to) is half open and from is rounded down to its hour.
	got, err = a.LinkSeries(t.Context(), "an1", h0.Add(59*time.Minute), h1)
	if err != nil || !sameSeries(got, want[:1]) {
		t.Fatalf("series of the first hour: %s, %v", fmtSeries(got), err)
	}
	// Another code's series is its own.
	if got, err := a.LinkSeries(t.Context(), "an2", h0, h1.Add(time.Hour)); err != nil || len(got) != 0 {
		t.Fatalf("series of an unclicked code: %s, %v", fmtSeries(got), err)
	}
}

func testAnalyticsBatchOnce(t *testing.T, s store.Store) {
	a := analytics(t, s)
	h := store.HourOf(t0)
	// Enough codes to span every partition and several chunks of one.
	b := store.ClickBatch{ID: "edge-a-7", Counts: map[string]int64{}}
	for i := range 600 {
		code := fmt.Sprintf("once%d", i)
		mustCreate(t, s, newLink(code, "https://example.com/o"))
		b.Counts[code] = 2
		b.Hours = append(b.Hours, store.CodeHour{Code: code, HourStats: hourStats(h, 2, 1, "direct", "tablet")})
	}
	mustApply(t, a, b, false)
	mustApply(t, a, b, true) // the retry of a batch whose answer was lost
	for _, code := range []string{"once0", "once299", "once599"} {
		if got := mustGetLink(t, s, code).Clicks; got != 2 {
			t.Fatalf("%s has %d clicks after a batch applied twice, want 2", code, got)
		}
		got, err := a.LinkSeries(t.Context(), code, h, h.Add(time.Hour))
		if err != nil || !sameSeries(got, []store.HourStats{hourStats(h, 2, 1, "direct", "tablet")}) {
			t.Fatalf("%s series after a replay: %s, %v", code, fmtSeries(got), err)
		}
	}
	// Another ID with the same content counts again.
	b.ID = "edge-a-8"
	mustApply(t, a, b, false)
	if got := mustGetLink(t, s, "once5").Clicks; got != 4 {
		t.Fatalf("once5 has %d clicks after a second batch, want 4", got)
	}
	if _, err := a.ApplyClickBatch(t.Context(), store.ClickBatch{}); err == nil {
		t.Fatal("a batch without an ID was accepted")
	}
}

func testAnalyticsTop(t *testing.T, s store.Store) {
	a := analytics(t, s)
	day := t0.Truncate(24 * time.Hour)
	add := func(id, code string, h time.Time, n int64) {
		mustApply(t, a, store.ClickBatch{ID: id, Hours: []store.CodeHour{{Code: code, HourStats: hourStats(h, n, 100, "direct", "desktop")}}}, false)
	}
	add("1", "top-a", day.Add(-time.Hour), 50) // the evening before
	add("2", "top-b", day.Add(3*time.Hour), 10)
	add("3", "top-a", day.Add(5*time.Hour), 4)
	add("4", "top-c", day.Add(26*time.Hour), 7)
	add("5", "top-c", day.Add(27*time.Hour), 7)
	add("6", "top-d", day.Add(30*time.Hour), 1)
	check := func(from, to time.Time, limit int, want ...store.LinkCount) {
		t.Helper()
		got, err := a.TopLinks(t.Context(), from, to, limit)
		if err != nil {
			t.Fatalf("TopLinks: %v", err)
		}
		if len(got) == 0 && len(want) == 0 {
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("TopLinks(%s, %s, %d) = %v, want %v (bots never count)", from, to, limit, got, want)
		}
	}
	// A whole day plus partial hours on both sides.
	check(day.Add(-2*time.Hour), day.Add(29*time.Hour), 10,
		store.LinkCount{Code: "top-a", Clicks: 54}, store.LinkCount{Code: "top-c", Clicks: 14}, store.LinkCount{Code: "top-b", Clicks: 10})
	check(day, day.Add(48*time.Hour), 2,
		store.LinkCount{Code: "top-c", Clicks: 14}, store.LinkCount{Code: "top-b", Clicks: 10})
	check(day.Add(4*time.Hour), day.Add(26*time.Hour), 10, store.LinkCount{Code: "top-a", Clicks: 4})
	check(day.Add(100*time.Hour), day.Add(101*time.Hour), 10)
}

func testAnalyticsRetention(t *testing.T, s store.Store) {
	a := analytics(t, s)
	now := time.Now()
	old := store.HourOf(now.Add(-3 * time.Hour))
	recent := store.HourOf(now)
	mustApply(t, a, store.ClickBatch{ID: "r1", Retention: 2 * time.Hour, Hours: []store.CodeHour{
		{Code: "ret", HourStats: hourStats(old, 1, 0, "direct", "desktop")},
		{Code: "ret", HourStats: hourStats(recent, 2, 0, "direct", "desktop")}}}, false)
	if err := a.PruneAnalytics(t.Context(), now.Add(-2*time.Hour)); err != nil {
		t.Fatalf("PruneAnalytics: %v", err)
	}
	got, err := a.LinkSeries(t.Context(), "ret", old, recent.Add(time.Hour))
	if err != nil || !sameSeries(got, []store.HourStats{hourStats(recent, 2, 0, "direct", "desktop")}) {
		t.Fatalf("series after retention: %s, %v; want only the recent hour", fmtSeries(got), err)
	}
}

func sameSeries(got, want []store.HourStats) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if !g.Hour.Equal(w.Hour) || g.Clicks != w.Clicks || g.Bots != w.Bots || g.Sampled != w.Sampled ||
			!sameCounts(g.Referrers, w.Referrers) || !sameCounts(g.Devices, w.Devices) ||
			!sameCounts(g.Browsers, w.Browsers) || !sameCounts(g.Countries, w.Countries) {
			return false
		}
	}
	return true
}

func sameCounts(a, b map[string]int64) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

func fmtSeries(s []store.HourStats) string {
	out := "["
	for _, h := range s {
		out += fmt.Sprintf("{%s c=%d b=%d s=%d r=%v d=%v w=%v g=%v} ", h.Hour.Format(time.RFC3339), h.Clicks, h.Bots, h.Sampled, h.Referrers, h.Devices, h.Browsers, h.Countries)
	}
	return out + "]"
}
