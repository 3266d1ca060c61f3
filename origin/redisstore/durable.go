package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

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

// batchWaitRounds is how many more WAITs a pipelined batch gets.
const batchWaitRounds = 3

// runBatchDurable is runBatch followed, when the store waits for replicas,
// by WAIT on every master the batch wrote to, on the connection that wrote
// (WAIT covers that connection's writes only). If some master's writes are
// not acknowledged by enough replicas, it fails with ErrOutcomeUnknown and
// the caller records nothing: a bulk job then re-runs the chunk, whose
// applied lines replay (and are WAITed for again) instead of applying twice.
func (s *Store) runBatchDurable(ctx context.Context, sc *script, calls []*batchCall) error {
	if s.wait <= 0 || len(calls) == 0 {
		return s.runBatch(ctx, sc, calls)
	}
	if s.closed.Load() {
		return s.classify(sc.name, redis.ErrClosed)
	}
	type nodeBatch struct {
		node  *redis.Client
		calls []*batchCall
	}
	var order []*nodeBatch
	byNode := map[*redis.Client]*nodeBatch{}
	for _, c := range calls {
		node, err := s.masterFor(ctx, c.keys[0])
		if err != nil {
			return s.classify(sc.name, err)
		}
		nb := byNode[node]
		if nb == nil {
			nb = &nodeBatch{node: node}
			byNode[node] = nb
			order = append(order, nb)
		}
		nb.calls = append(nb.calls, c)
	}
	var first error
	for _, nb := range order {
		// One dedicated connection: WAIT covers the writes of the
		// connection it is sent on, and may be sent again on it.
		conn := nb.node.Conn()
		pipe := conn.Pipeline()
		cmds := make([]onceCmd, len(nb.calls))
		for i, c := range nb.calls {
			cmds[i] = onceCmd{redis.NewCmd(ctx, evalArgs("evalsha", sc.sha, c.keys, c.args)...)}
			_ = pipe.Process(ctx, cmds[i])
		}
		w := redis.NewIntCmd(ctx, "wait", s.wait, s.cfg.WaitTimeout.Milliseconds())
		_ = pipe.Process(ctx, w)
		_, _ = pipe.Exec(ctx) // errors are read per command below
		wrote := false
		for i, c := range nb.calls {
			err := cmds[i].Err()
			switch {
			case (err != nil && redis.HasErrorPrefix(err, "NOSCRIPT")) || (err == nil && isFence(cmds[i].Val())):
				// Nothing ran: run it alone, with its own WAIT.
				c.val, c.err = s.runDurable(ctx, sc, c.keys, c.args...)
			case err != nil:
				c.err = s.writeErr(sc.name, err)
			default:
				c.val = cmds[i].Val()
				if tag, _, _ := replyOf(c.val); tag == "ok" || tag == "replay" {
					wrote = true
				}
			}
			if c.err != nil && first == nil {
				first = c.err
			}
		}
		acked := w.Val()
		// A big pipeline takes replicas longer than one write: wait a few
		// more rounds before calling the outcome unknown.
		for round := 0; wrote && acked < int64(s.wait) && round < batchWaitRounds && ctx.Err() == nil; round++ {
			acked, _ = conn.Do(ctx, "wait", s.wait, s.cfg.WaitTimeout.Milliseconds()).Int64()
		}
		_ = conn.Close()
		if wrote && acked < int64(s.wait) && first == nil {
			first = fmt.Errorf("%w: %w: redisstore: %s batch applied on %s but acknowledged by %d of %d replicas within %v",
				store.ErrOutcomeUnknown, store.ErrUnavailable, sc.name, nb.node.Options().Addr, acked, s.wait, time.Duration(batchWaitRounds+1)*s.cfg.WaitTimeout)
		}
	}
	return first
}
