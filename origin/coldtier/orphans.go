package coldtier

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"gocloud.dev/blob"
)

// DeleteOrphans deletes segments that have no live marker and were
// created more than olderThan ago: what a crash between writing a segment
// and listing it leaves behind. No lookup ever reads them. olderThan must
// exceed the time a Put takes (another origin may be writing one now).
func (t *Tier) DeleteOrphans(ctx context.Context, olderThan time.Duration) (int, error) {
	live := map[string]bool{}
	if err := t.list(ctx, LivePrefix, func(key string) { live[strings.TrimPrefix(key, LivePrefix)] = true }); err != nil {
		return 0, err
	}
	var orphans []string
	cutoff := time.Now().Add(-olderThan).UnixNano()
	err := t.list(ctx, segmentPrefix, func(key string) {
		name := strings.TrimPrefix(key, segmentPrefix)
		if live[name] {
			return
		}
		stamp, _, ok := strings.Cut(name, "-")
		ns, err := strconv.ParseInt(stamp, 10, 64)
		if !ok || err != nil || ns > cutoff {
			return // not ours, or too recent: maybe a Put in progress
		}
		orphans = append(orphans, key)
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, key := range orphans {
		if err := t.b.Delete(ctx, key); err != nil && !isNotFound(err) {
			return n, fmt.Errorf("%w: delete %s: %v", ErrUnavailable, key, err)
		}
		n++
		t.log.Info("deleted an orphan cold segment (never listed)", "segment", key)
	}
	return n, nil
}

func (t *Tier) list(ctx context.Context, prefix string, f func(key string)) error {
	it := t.b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: list %s: %v", ErrUnavailable, prefix, err)
		}
		f(obj.Key)
	}
}
