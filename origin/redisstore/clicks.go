package redisstore

import (
	"context"
	"strconv"

	"github.com/shortstock/shortstock/internal/keys"
)

// clicksPerCall bounds the links one click script touches, so a huge batch
// never blocks Redis for long.
const clicksPerCall = 256

// AddClicks adds click counts to links: one script per partition (chunked),
// all pipelined. Unknown, deleted or malformed codes and non-positive
// counts are ignored. Clicks change neither versions nor the change log.
func (s *Store) AddClicks(ctx context.Context, counts map[string]int64) error {
	byPart := make(map[int]*batchCall)
	var calls []*batchCall
	for code, n := range counts {
		if n <= 0 || !keys.ValidCode(code) {
			continue
		}
		p := s.space.Partition(keys.KindLink, code)
		c := byPart[p]
		if c == nil || len(c.keys) == clicksPerCall {
			c = &batchCall{}
			byPart[p] = c
			calls = append(calls, c)
		}
		c.keys = append(c.keys, s.ks.link(p, code))
		c.args = append(c.args, strconv.FormatInt(n, 10))
	}
	// The click time is each link's activity (the cold tier's mover).
	now := s.nowMs()
	for _, c := range calls {
		c.args = append(c.args, now)
	}
	return s.runBatch(ctx, scriptClicks, calls)
}
