package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/redis/go-redis/v9"
	"github.com/shortstock/shortstock/origin/store"
)

// Acknowledged means durable: a stock or reservation write is answered
// only once Config.WaitReplicas replicas hold it (WAIT after the script, on
// the same connection), so a failover to one of them keeps it. When WAIT
// times out the write was applied on the master but is not known to be on
// a replica: the caller gets store.ErrOutcomeUnknown (503 outcome_unknown),
// and retrying with the same Idempotency-Key (or reservation ID) is safe.

// runDurable is run followed by WAIT when the store waits for replicas.
// Only outcomes that wrote ("ok") or replay an earlier write ("replay":
// the WAIT then covers the original too) need the replicas; a refusal
// ("insufficient", "nf", ...) is answered as it is.
func (s *Store) runDurable(ctx context.Context, sc *script, keys []string, args ...any) (any, error) {
	if s.wait <= 0 {
		return s.run(ctx, sc, keys, args...)
	}
	if s.closed.Load() {
		return nil, s.classify(sc.name, redis.ErrClosed)
	}
	node, err := s.masterFor(ctx, keys[0])
	if err != nil {
		return nil, s.classify(sc.name, err)
	}
	for round := 0; ; round++ {
		v, acked, err := s.evalWait(ctx, node, sc, keys, args)
		if err != nil {
			return nil, s.writeErr(sc.name, err)
		}
		if isFence(v) {
			if round >= maxFenceRounds {
				return nil, fmt.Errorf("%w: redisstore: %s: the partition's master keeps changing", store.ErrUnavailable, sc.name)
			}
			if err := s.fence(ctx, keys[0]); err != nil {
				return nil, err
			}
			continue
		}
		if tag, _, _ := replyOf(v); (tag == "ok" || tag == "replay") && acked < int64(s.wait) {
			return nil, fmt.Errorf("%w: %w: redisstore: %s applied on %s but acknowledged by %d of %d replicas within %v",
				store.ErrOutcomeUnknown, store.ErrUnavailable, sc.name, node.Options().Addr, acked, s.wait, s.cfg.WaitTimeout)
		}
		return v, nil
	}
}

// evalWait pipelines EVALSHA and WAIT on one connection of node (EVAL
// after NOSCRIPT, which ran nothing).
func (s *Store) evalWait(ctx context.Context, node *redis.Client, sc *script, keys []string, args []any) (any, int64, error) {
	do := func(verb, body string) (any, int64, error) {
		pipe := node.Pipeline()
		cmd := onceCmd{redis.NewCmd(ctx, evalArgs(verb, body, keys, args)...)}
		_ = pipe.Process(ctx, cmd)
		w := redis.NewIntCmd(ctx, "wait", s.wait, s.cfg.WaitTimeout.Milliseconds())
		_ = pipe.Process(ctx, w)
		_, _ = pipe.Exec(ctx) // errors are read per command
		if err := cmd.Err(); err != nil {
			return nil, 0, err
		}
		// A WAIT that failed (timeout, broken connection) counts as no
		// acknowledgement: the write's outcome is unknown.
		return cmd.Val(), w.Val(), nil
	}
	v, n, err := do("evalsha", sc.sha)
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		v, n, err = do("eval", sc.src)
	}
	return v, n, err
}

// writeErr classifies the error of a write script. A write that may have
// reached Redis (the connection broke or timed out after it was sent) has
// an unknown outcome; one that was refused (an error reply, a failed dial,
// a closed pool) was not applied.
func (s *Store) writeErr(op string, err error) error {
	err = s.classify(op, err)
	if errors.Is(err, store.ErrUnavailable) && maybeSent(err) {
		return fmt.Errorf("%w: %w", store.ErrOutcomeUnknown, err)
	}
	return err
}

// maybeSent reports whether a failed command may have reached the server.
func maybeSent(err error) bool {
	var reply redis.Error
	if errors.As(err, &reply) {
		return false // the server answered: a refused command ran nothing
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	return !errors.Is(err, redis.ErrClosed) && !errors.Is(err, redis.ErrPoolTimeout)
}
