package redisstore

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// expireChunk bounds the holds one expire script handles, so a backlog
// never blocks Redis for long.
const expireChunk = 256

// ExpireHolds expires up to max held reservations whose expiry is at or
// before now. One pipelined ZCOUNT finds the partitions with due holds;
// each of those then runs the expire script, which pops and releases in one
// atomic step, so several origins may run this at once and each hold is
// expired exactly once. The starting partition rotates, so a small max
// still reaches every partition over successive calls.
func (s *Store) ExpireHolds(ctx context.Context, now time.Time, max int) (int, error) {
	if max <= 0 {
		return 0, nil
	}
	if s.closed.Load() {
		return 0, s.classify("expire holds", redis.ErrClosed)
	}
	nowMs := millis(now)
	pipe := s.rw.Pipeline()
	counts := make([]*redis.IntCmd, s.space.N())
	for p := range counts {
		counts[p] = pipe.ZCount(ctx, s.ks.holds(p), "-inf", nowMs)
	}
	if err := execReads(ctx, pipe); err != nil {
		return 0, s.classify("expire holds", err)
	}
	start := int(s.expireAt.Add(1))
	total := 0
	for i := 0; i < s.space.N() && total < max; i++ {
		p := (start + i) % s.space.N()
		if counts[p].Val() == 0 {
			continue
		}
		for total < max {
			limit := min(max-total, expireChunk)
			n, examined, err := s.expirePartition(ctx, p, now, limit)
			total += n
			if err != nil {
				return total, err
			}
			if examined < limit {
				break
			}
		}
	}
	return total, nil
}

func (s *Store) expirePartition(ctx context.Context, p int, now time.Time, limit int) (expired, examined int, err error) {
	v, err := s.run(ctx, scriptExpire,
		[]string{s.ks.holds(p), s.ks.seq(p), s.ks.log(p)},
		millis(now), s.cfg.ChangeStreamMaxLen, secs(now), nanos(now), millis(now), limit,
		s.ks.reservationPrefix(p), s.ks.stockPrefix(p), s.cfg.ReservationRetention.Milliseconds())
	if err != nil {
		return 0, 0, err
	}
	arr, ok := v.([]any)
	if !ok || len(arr) != 2 {
		return 0, 0, errBadReplyf("expire: %v", v)
	}
	n, err := toInt(arr[0])
	if err != nil {
		return 0, 0, err
	}
	m, err := toInt(arr[1])
	if err != nil {
		return 0, 0, err
	}
	return int(n), int(m), nil
}
