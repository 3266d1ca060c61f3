package bench

import (
	"testing"
	"time"
)

// The read latency split by X-Cache state keeps each state's answers apart:
// a slow miss must not show up in the hits' line, nor the reverse.
func TestRecorderSplitsLatencyByCacheState(t *testing.T) {
	start := time.Unix(1000, 0)
	r := NewRecorder(start, 10*time.Second)
	for i := range 100 {
		due := start.Add(time.Duration(i) * time.Millisecond)
		r.Record(due, due.Add(time.Millisecond), Outcome{Cache: CacheHit})
		r.Record(due, due.Add(20*time.Millisecond), Outcome{Cache: CacheMiss})
	}
	r.Record(start, start.Add(5*time.Millisecond), Outcome{}) // a write: no X-Cache
	s := r.Summary()
	hit, miss := s.ByCache["hit"], s.ByCache["miss"]
	if hit.Max < 0.99 || hit.Max > 1.01 || miss.P50 < 19.9 || miss.P50 > 20.1 {
		t.Fatalf("hits %+v misses %+v: want every hit at 1 ms and every miss at 20 ms", hit, miss)
	}
	if _, ok := s.ByCache["none"]; ok {
		t.Fatalf("answers without X-Cache were split out too: %v", s.ByCache)
	}
	if _, ok := s.ByCache["stale"]; ok {
		t.Fatalf("a state nothing was recorded for has a line: %v", s.ByCache)
	}
}
