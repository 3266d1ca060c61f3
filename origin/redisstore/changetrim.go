package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

var _ store.ChangeTrimmer = (*Store)(nil)

// TrimChanges implements store.ChangeTrimmer: each partition's stream
// loses the changes older than Config.ChangeStreamMaxAge at now (keeping
// its newest), one log_trim_age script per partition, until max are
// removed. An edge that needed a trimmed change sees the log start past
// it and drops the partition, as after the length cap.
func (s *Store) TrimChanges(ctx context.Context, now time.Time, max int) (int, error) {
	if max <= 0 || max > store.MaxTrimBatch {
		return 0, fmt.Errorf("%w: trim changes: max %d (1..%d)", store.ErrInvalid, max, store.MaxTrimBatch)
	}
	cutoff := now.Add(-s.cfg.ChangeStreamMaxAge).UnixMilli()
	return s.trimEachPartition(ctx, scriptLogTrimAge, max, func(p, left int) (string, []any) {
		return s.ks.log(p), []any{cutoff, left}
	})
}

// trimEachPartition runs sc on one partition after another, each its own
// atomic step, until max items are removed: call gives the partition's
// key and the script's arguments for left items still allowed; the
// script returns how many it removed.
func (s *Store) trimEachPartition(ctx context.Context, sc *script, max int, call func(p, left int) (string, []any)) (int, error) {
	total := 0
	for p := 0; p < s.space.N() && total < max; p++ {
		key, args := call(p, max-total)
		v, err := s.run(ctx, sc, []string{key}, args...)
		if err != nil {
			return total, err
		}
		n, err := toInt(v)
		if err != nil || n < 0 {
			return total, errBadReplyf("%s: %v", sc.name, v)
		}
		total += int(n)
	}
	return total, nil
}
