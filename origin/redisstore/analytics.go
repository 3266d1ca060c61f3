package redisstore

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// Click analytics keys, in the link's partition (one slot per partition,
// as every other key):
//
//	<prefix>:{p17}:ab:<batch id>:<chunk>   a batch chunk's marker, expires after store.BatchMarkerTTL
//	<prefix>:{p17}:ah:<unix hour>:<code>   a link's hour: c (clicks), b (bots), s (sampled),
//	                                       r:<referrer>, d:<device>, w:<browser>, g:<country>
//	<prefix>:{p17}:at:<unix hour>          ZSET code -> human clicks in that hour
//	<prefix>:{p17}:ad:<unix day>           ZSET code -> human clicks in that UTC day
//
// Every series key expires at its hour (day) plus the retention, so Redis
// enforces retention itself.
var _ store.Analytics = (*Store)(nil)

var scriptAnalytics = loadScript("analytics")

// analyticsChunk bounds the entries one script call applies, so a large
// batch never blocks Redis for long.
const analyticsChunk = 128

func (k *keyspace) batchMarker(p int, id string, chunk int) string {
	return k.part[p] + "ab:" + id + ":" + strconv.Itoa(chunk)
}
func (k *keyspace) anHour(p int, h time.Time, code string) string {
	return k.part[p] + "ah:" + strconv.FormatInt(h.Unix(), 10) + ":" + code
}
func (k *keyspace) anHourTop(p int, h time.Time) string {
	return k.part[p] + "at:" + strconv.FormatInt(h.Unix(), 10)
}
func (k *keyspace) anDayTop(p int, d time.Time) string {
	return k.part[p] + "ad:" + strconv.FormatInt(d.Unix(), 10)
}

// anItem is a link counter increment (hour zero) or a series entry.
type anItem struct {
	code  string
	hour  time.Time
	count int64
	stats *store.HourStats
}

// ApplyClickBatch splits the batch by partition, sorts each partition's
// entries (so a retry, decoded from the same body, chunks the same way) and
// applies every chunk atomically with its own marker.
func (s *Store) ApplyClickBatch(ctx context.Context, b store.ClickBatch) (bool, error) {
	if b.ID == "" || len(b.ID) > store.MaxBatchIDLen {
		return false, fmt.Errorf("redisstore: click batch ID %q: %w", b.ID, store.ErrInvalid)
	}
	retention := b.Retention
	if retention <= 0 {
		retention = 400 * 24 * time.Hour
	}
	byPart := make(map[int][]anItem)
	for code, n := range b.Counts {
		if n > 0 && keys.ValidCode(code) {
			p := s.space.Partition(keys.KindLink, code)
			byPart[p] = append(byPart[p], anItem{code: code, count: n})
		}
	}
	for i := range b.Hours {
		ch := &b.Hours[i]
		if keys.ValidCode(ch.Code) {
			p := s.space.Partition(keys.KindLink, ch.Code)
			byPart[p] = append(byPart[p], anItem{code: ch.Code, hour: store.HourOf(ch.Hour), stats: &ch.HourStats})
		}
	}
	ttl := strconv.Itoa(int(store.BatchMarkerTTL / time.Second))
	var calls []*batchCall
	for _, p := range slices.Sorted(maps.Keys(byPart)) {
		items := byPart[p]
		slices.SortFunc(items, func(a, b anItem) int {
			return cmp.Or(strings.Compare(a.code, b.code), a.hour.Compare(b.hour), cmp.Compare(a.count, b.count))
		})
		for chunk := 0; len(items) > 0; chunk++ {
			n := min(len(items), analyticsChunk)
			calls = append(calls, s.analyticsCall(p, b.ID, chunk, ttl, retention, items[:n]))
			items = items[n:]
		}
	}
	if len(calls) == 0 {
		return false, nil
	}
	if err := s.runBatch(ctx, scriptAnalytics, calls); err != nil {
		return false, err
	}
	for _, c := range calls {
		if n, _ := c.val.(int64); n == 1 {
			return false, nil
		}
	}
	return true, nil
}

func (s *Store) analyticsCall(p int, id string, chunk int, ttl string, retention time.Duration, items []anItem) *batchCall {
	c := &batchCall{keys: []string{s.ks.batchMarker(p, id, chunk)}, args: []any{ttl, 0}}
	links := 0
	for _, it := range items {
		if it.stats == nil {
			c.keys = append(c.keys, s.ks.link(p, it.code))
			c.args = append(c.args, it.count)
			links++
		}
	}
	// The link arguments come first: move them ahead of nothing yet added.
	c.args[1] = links
	for _, it := range items {
		if it.stats == nil {
			continue
		}
		st := it.stats
		day := it.hour.Truncate(24 * time.Hour)
		c.keys = append(c.keys, s.ks.anHour(p, it.hour, it.code), s.ks.anHourTop(p, it.hour), s.ks.anDayTop(p, day))
		fields := []any{}
		add := func(f string, n int64) {
			if n > 0 {
				fields = append(fields, f, n)
			}
		}
		add("c", st.Clicks)
		add("b", st.Bots)
		add("s", st.Sampled)
		for _, m := range []struct {
			pre string
			m   map[string]int64
		}{{"r:", st.Referrers}, {"d:", st.Devices}, {"w:", st.Browsers}, {"g:", st.Countries}} {
			for k, n := range m.m {
				add(m.pre+k, n)
			}
		}
		c.args = append(c.args, it.code,
			it.hour.Add(retention).Unix(), day.Add(retention+24*time.Hour).Unix(),
			max(st.Clicks, 0), len(fields)/2)
		c.args = append(c.args, fields...)
	}
	return c
}

// LinkSeries reads the code's hour hashes in [from, to), pipelined (they
// share the code's slot).
func (s *Store) LinkSeries(ctx context.Context, code string, from, to time.Time) ([]store.HourStats, error) {
	if s.closed.Load() {
		return nil, s.classify("link series", redis.ErrClosed)
	}
	p := s.space.Partition(keys.KindLink, code)
	hours := store.Hours(from, to)
	pipe := s.ro.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(hours))
	for i, h := range hours {
		cmds[i] = pipe.HGetAll(ctx, s.ks.anHour(p, h, code))
	}
	if len(hours) > 0 {
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			return nil, s.classify("link series", err)
		}
	}
	var out []store.HourStats
	for i, h := range hours {
		m := cmds[i].Val()
		if len(m) == 0 {
			continue
		}
		st := store.HourStats{Hour: h}
		for f, v := range m {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				continue
			}
			switch {
			case f == "c":
				st.Clicks = n
			case f == "b":
				st.Bots = n
			case f == "s":
				st.Sampled = n
			case strings.HasPrefix(f, "r:"):
				st.Referrers = put(st.Referrers, f[2:], n)
			case strings.HasPrefix(f, "d:"):
				st.Devices = put(st.Devices, f[2:], n)
			case strings.HasPrefix(f, "w:"):
				st.Browsers = put(st.Browsers, f[2:], n)
			case strings.HasPrefix(f, "g:"):
				st.Countries = put(st.Countries, f[2:], n)
			}
		}
		if st.Clicks > 0 || st.Bots > 0 {
			out = append(out, st)
		}
	}
	return out, nil
}

func put(m map[string]int64, k string, n int64) map[string]int64 {
	if m == nil {
		m = map[string]int64{}
	}
	m[k] += n
	return m
}

// TopLinks sums every partition's day and hour indexes covering [from, to).
func (s *Store) TopLinks(ctx context.Context, from, to time.Time, limit int) ([]store.LinkCount, error) {
	if s.closed.Load() {
		return nil, s.classify("top links", redis.ErrClosed)
	}
	hours, days := store.SplitDays(from, to)
	pipe := s.ro.Pipeline()
	var cmds []*redis.ZSliceCmd
	for p := range s.space.N() {
		for _, h := range hours {
			cmds = append(cmds, pipe.ZRangeWithScores(ctx, s.ks.anHourTop(p, h), 0, -1))
		}
		for _, d := range days {
			cmds = append(cmds, pipe.ZRangeWithScores(ctx, s.ks.anDayTop(p, d), 0, -1))
		}
	}
	if len(cmds) > 0 {
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			return nil, s.classify("top links", err)
		}
	}
	sums := map[string]int64{}
	for _, c := range cmds {
		for _, z := range c.Val() {
			if code, ok := z.Member.(string); ok {
				sums[code] += int64(z.Score)
			}
		}
	}
	return store.TopOf(sums, limit), nil
}

// PruneAnalytics does nothing: every analytics key expires on its own.
func (s *Store) PruneAnalytics(context.Context, time.Time) error { return nil }
