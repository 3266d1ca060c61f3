package origin

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/clock"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/wire"
)

// FuzzClickBatchAnalytics: whatever JSON an edge (or an attacker holding
// the cluster token) sends as a click batch, what reaches the store is
// well formed: valid codes, counts in range, printable bounded breakdown
// keys, at most wire.MaxBreakdownKeys of each, hours within the retention.
func FuzzClickBatchAnalytics(f *testing.F) {
	for _, s := range []string{
		`{"batch":"e-1","at":1893499200,"counts":{"a":3},"hours":[{"code":"a","hour":1893499200,"clicks":3,"sampled":3,"referrers":{"direct":3}}]}`,
		`{"batch":"e-2","hours":[{"code":"bad/code","hour":0,"clicks":-1,"referrers":{"\u0000":1," ":2}}]}`,
		`{"batch":"e-3","hours":[{"code":"b","hour":99999999999,"clicks":1}]}`,
		`{"counts":{"x":9223372036854775807}}`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	s := &Server{cfg: Config{Clock: clock.NewFake(now), AnalyticsRetention: 400 * 24 * time.Hour}}
	f.Fuzz(func(t *testing.T, body []byte) {
		var b wire.ClickBatch
		if json.Unmarshal(body, &b) != nil {
			return
		}
		_ = validBatchID(b.Batch)
		counts := map[string]int64{}
		for code, n := range b.Counts {
			if keys.ValidCode(code) && n > 0 && n <= MaxQuantity {
				counts[code] = n
			}
		}
		out := s.analyticsBatch(&b, counts)
		oldest := now.Add(-s.cfg.AnalyticsRetention - time.Hour)
		for _, h := range out.Hours {
			if !keys.ValidCode(h.Code) || h.Clicks < 0 || h.Bots < 0 || h.Clicks > MaxQuantity {
				t.Fatalf("bad entry %+v", h)
			}
			if h.Hour.Before(oldest) || h.Hour.After(now.Add(2*time.Hour)) || !h.Hour.Equal(h.Hour.Truncate(time.Hour)) {
				t.Fatalf("hour %s out of range", h.Hour)
			}
			for _, m := range []map[string]int64{h.Referrers, h.Devices, h.Browsers, h.Countries} {
				if len(m) > wire.MaxBreakdownKeys {
					t.Fatalf("%d breakdown keys", len(m))
				}
				for k, n := range m {
					if !dimensionOK(k) || n <= 0 {
						t.Fatalf("breakdown %q: %d", k, n)
					}
				}
			}
		}
	})
}
