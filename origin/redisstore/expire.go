package redisstore

import (
	"context"
	"errors"
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
	due, err := s.holdsDue(ctx, millis(now))
	if err != nil {
		return 0, err
	}
	start := int(s.expireAt.Add(1))
	total := 0
	for i := 0; i < s.space.N() && total < max; i++ {
		p := (start + i) % s.space.N()
		if !due[p] {
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

// holdsDue reports which partitions have a hold due at nowMs: one
// holds_due script per node (every partition of a standalone server in one
// call), or, where the servers refuse it (no script flags before Redis
// 7.0, a slot moving between nodes), one pipelined ZCOUNT per partition.
func (s *Store) holdsDue(ctx context.Context, nowMs string) ([]bool, error) {
	due := make([]bool, s.space.N())
	if !s.noParts.Load() {
		ok, err := s.holdsDueScripted(ctx, nowMs, due)
		if ok || err != nil {
			return due, err
		}
		clear(due)
	}
	pipe := s.rw.Pipeline()
	counts := make([]*redis.IntCmd, s.space.N())
	for p := range counts {
		counts[p] = pipe.ZCount(ctx, s.ks.holds(p), "-inf", nowMs)
	}
	if err := execReads(ctx, pipe); err != nil {
		return nil, s.classify("expire holds", err)
	}
	for p, c := range counts {
		due[p] = c.Val() > 0
	}
	return due, nil
}

// holdsDueScripted fills due with one holds_due call per node; false (and
// no error) when a node refused the script.
func (s *Store) holdsDueScripted(ctx context.Context, nowMs string, due []bool) (bool, error) {
	type group struct {
		first int
		args  []any
	}
	var groups []*group
	byNode := map[*redis.Client]*group{}
	tag := s.ks.prefix + ":{p"
	for p := range due {
		node, err := s.masterFor(ctx, s.ks.holds(p))
		if err != nil {
			return false, s.classify("expire holds", err)
		}
		g := byNode[node]
		if g == nil {
			g = &group{first: p, args: []any{nowMs, tag}}
			byNode[node] = g
			groups = append(groups, g)
		}
		g.args = append(g.args, p)
	}
	for _, g := range groups {
		v, err := s.run(ctx, scriptHoldsDue, []string{s.ks.holds(g.first)}, g.args...)
		if err != nil {
			var reply redis.Error
			if errors.As(err, &reply) {
				return false, nil
			}
			return false, err
		}
		ps, ok := v.([]any)
		if !ok {
			return false, errBadReplyf("holds_due: %v", v)
		}
		for _, x := range ps {
			p, err := toInt(x)
			if err != nil || p < 0 || p >= int64(len(due)) {
				return false, errBadReplyf("holds_due: partition %v", x)
			}
			due[p] = true
		}
	}
	return true, nil
}
