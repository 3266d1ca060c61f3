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
	total := 0
	for p := 0; p < s.space.N() && total < max; p++ {
		v, err := s.run(ctx, scriptLogTrimAge, []string{s.ks.log(p)}, cutoff, max-total)
		if err != nil {
			return total, err
		}
		n, err := toInt(v)
		if err != nil || n < 0 {
			return total, errBadReplyf("change log trim: %v", v)
		}
		total += int(n)
	}
	return total, nil
}
