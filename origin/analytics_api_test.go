package origin_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/wire"
)

// The test origin's clock: 2030-01-01T12:00:00Z.
var anNow = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

type statsBody struct {
	Code        string `json:"code"`
	Clicks      int64  `json:"clicks"`
	Bots        int64  `json:"bots"`
	LinkClicks  int64  `json:"link_clicks"`
	Version     uint64 `json:"version"`
	Granularity string `json:"granularity"`
	Series      []struct {
		T      time.Time `json:"t"`
		Clicks int64     `json:"clicks"`
		Bots   int64     `json:"bots"`
	} `json:"series"`
	Referrers  map[string]int64 `json:"referrers"`
	Devices    map[string]int64 `json:"devices"`
	Browsers   map[string]int64 `json:"browsers"`
	Countries  map[string]int64 `json:"countries"`
	SampleRate float64          `json:"sample_rate"`
}

func (o *testOrigin) stats(t *testing.T, path string) statsBody {
	t.Helper()
	r := o.admin("GET", path, nil)
	expect(t, r, 200, "")
	var s statsBody
	if err := json.Unmarshal(r.body, &s); err != nil {
		t.Fatalf("%s: %v", r.body, err)
	}
	return s
}

func clickBatch(id string, counts map[string]int64, hours ...wire.ClickHour) []byte {
	b, _ := json.Marshal(wire.ClickBatch{Edge: "e1", Batch: id, At: anNow.Unix(), Counts: counts, Hours: hours})
	return b
}

// TestClickBatchRetriedCountedOnce: the same batch sent twice (its answer
// lost the first time) is counted once, in the link's counter and in the
// series, on every backend.
func TestClickBatchRetriedCountedOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b)
		expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "https://example.com/r", "code": "retry"}), 201, "")
		h := anNow.Truncate(time.Hour).Unix()
		body := clickBatch("edge1-7", map[string]int64{"retry": 3}, wire.ClickHour{
			Code: "retry", Hour: h, Clicks: 3, Bots: 2, Sampled: 5,
			Referrers: map[string]int64{"news.example": 2, "direct": 1}, Devices: map[string]int64{"mobile": 3, "bot": 2},
			Browsers: map[string]int64{"Safari": 3}, Countries: map[string]int64{"unknown": 3},
		})
		for range 2 {
			expect(t, o.do("POST", wire.PathClicks, "", body), 204, "")
		}
		s := o.stats(t, "/v1/links/retry/stats")
		if s.Clicks != 3 || s.Bots != 2 || s.LinkClicks != 3 || s.Referrers["news.example"] != 2 || s.Devices["bot"] != 2 || s.SampleRate != 1 {
			t.Fatalf("after a batch sent twice: %+v; want 3 clicks and 2 bots once", s)
		}
		// Another ID counts again.
		expect(t, o.do("POST", wire.PathClicks, "", clickBatch("edge1-8", map[string]int64{"retry": 1})), 204, "")
		if s := o.stats(t, "/v1/links/retry/stats"); s.Clicks != 4 || s.LinkClicks != 4 {
			t.Fatalf("after a second batch: %+v", s)
		}
	})
}

func TestLinkStatsSeriesAndParams(t *testing.T) {
	o := newTestOrigin(t, backends[0])
	expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "https://example.com/s", "code": "ser"}), 201, "")
	expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "https://example.com/t", "code": "ser2"}), 201, "")
	h0 := anNow.Truncate(time.Hour)
	for i, n := range []int64{4, 0, 6} {
		if n == 0 {
			continue
		}
		body := clickBatch(fmt.Sprintf("b-%d", i), map[string]int64{"ser": n, "ser2": 1},
			wire.ClickHour{Code: "ser", Hour: h0.Add(-time.Duration(i) * time.Hour).Unix(), Clicks: n, Sampled: n,
				Devices: map[string]int64{"desktop": n}, Referrers: map[string]int64{"direct": n}})
		expect(t, o.do("POST", wire.PathClicks, "", body), 204, "")
	}
	from := h0.Add(-2 * time.Hour).Format(time.RFC3339)
	to := h0.Add(time.Hour).Format(time.RFC3339)
	s := o.stats(t, "/v1/links/ser/stats?from="+from+"&to="+to+"&granularity=hour")
	if s.Clicks != 10 || len(s.Series) != 3 || s.Series[0].Clicks != 6 || s.Series[1].Clicks != 0 || s.Series[2].Clicks != 4 || s.Devices["desktop"] != 10 {
		t.Fatalf("hourly stats %+v", s)
	}
	s = o.stats(t, "/v1/links/ser/stats?from=2029-12-31&to=2030-01-02&granularity=day")
	if s.Clicks != 10 || len(s.Series) != 2 || s.Series[1].Clicks != 10 || s.Granularity != "day" {
		t.Fatalf("daily stats %+v", s)
	}
	// Unclassified counts (ser2 came without hours) land in the batch's hour.
	if s := o.stats(t, "/v1/links/ser2/stats?from="+from+"&to="+to); s.Clicks != 2 {
		t.Fatalf("ser2 stats %+v, want its 2 unclassified clicks", s)
	}
	r := o.admin("GET", "/v1/stats/top?from="+from+"&to="+to+"&limit=1", nil)
	expect(t, r, 200, "")
	var top struct {
		Links []struct {
			Code   string `json:"code"`
			Clicks int64  `json:"clicks"`
		} `json:"links"`
	}
	if err := json.Unmarshal(r.body, &top); err != nil || len(top.Links) != 1 || top.Links[0].Code != "ser" || top.Links[0].Clicks != 10 {
		t.Fatalf("top: %s", r.body)
	}
	for _, bad := range []struct{ path, code string }{
		{"/v1/links/ser/stats?from=yesterday", "invalid_time"},
		{"/v1/links/ser/stats?to=2030-13-01", "invalid_time"},
		{"/v1/links/ser/stats?from=2030-01-02&to=2030-01-01", "invalid_range"},
		{"/v1/links/ser/stats?from=2020-01-01&to=2030-01-01", "invalid_range"},
		{"/v1/links/ser/stats?granularity=week", "invalid_granularity"},
		{"/v1/stats/top?limit=0", "invalid_limit"},
		{"/v1/stats/top?limit=x", "invalid_limit"},
		{"/v1/stats/top?from=2030-01-01T00:00:00", "invalid_time"},
	} {
		expect(t, o.admin("GET", bad.path, nil), 400, bad.code)
	}
	expect(t, o.admin("GET", "/v1/links/nope/stats", nil), 404, "not_found")
	// A malformed batch ID is refused and changes nothing.
	expect(t, o.do("POST", wire.PathClicks, "", clickBatch("bad id", map[string]int64{"ser": 5})), 400, "invalid_batch")
	if s := o.stats(t, "/v1/links/ser/stats"); s.LinkClicks != 10 {
		t.Fatalf("a refused batch changed the counter: %+v", s)
	}
}
