package redisstore

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/shortstock/shortstock/origin/store"
)

// onceCmd is a command go-redis must send at most once. go-redis retries a
// command whose reply timed out or whose connection broke, which for a
// write script could apply it twice (a second hold, a second adjust).
// Marking the write NoRetry turns those cases into an error the caller sees
// as ErrUnavailable (outcome unknown) instead.
type onceCmd struct{ *redis.Cmd }

// NoRetry tells go-redis never to resend the command.
func (onceCmd) NoRetry() bool { return true }

// evalArgs builds "EVALSHA sha n keys... args..." (or EVAL src ...).
func evalArgs(verb, body string, keys []string, args []any) []any {
	a := make([]any, 0, 3+len(keys)+len(args))
	a = append(a, verb, body, len(keys))
	for _, k := range keys {
		a = append(a, k)
	}
	return append(a, args...)
}

// run executes sc atomically on the node that owns keys[0] (all keys
// share one partition), sending EVALSHA first and the full source only when
// the node answers NOSCRIPT: after SCRIPT FLUSH, a restart without
// persistence of the script cache, a failover to a replica that never saw
// the script, or a new cluster node. NOSCRIPT means nothing ran, so that
// one resend is safe.
func (s *Store) run(ctx context.Context, sc *script, keys []string, args ...any) (any, error) {
	if s.closed.Load() {
		return nil, s.classify(sc.name, redis.ErrClosed)
	}
	for round := 0; ; round++ {
		cmd := onceCmd{redis.NewCmd(ctx, evalArgs("evalsha", sc.sha, keys, args)...)}
		err := s.rw.Process(ctx, cmd)
		if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			cmd = onceCmd{redis.NewCmd(ctx, evalArgs("eval", sc.src, keys, args)...)}
			err = s.rw.Process(ctx, cmd)
		}
		if err != nil {
			if sc == scriptFeed {
				return nil, s.classify(sc.name, err)
			}
			return nil, s.writeErr(sc.name, err)
		}
		if !isFence(cmd.Val()) {
			return cmd.Val(), nil
		}
		// The partition's epoch is not active on this node: nothing ran.
		if round >= maxFenceRounds {
			return nil, fmt.Errorf("%w: redisstore: %s: the partition's master keeps changing", store.ErrUnavailable, sc.name)
		}
		if err := s.fenceStale(ctx, cmd.Val(), keys); err != nil {
			return nil, err
		}
	}
}

// batchCall is one script call in a pipelined batch.
type batchCall struct {
	// parts are the partitions a call of several partitions writes
	// (stock_write_parts); nil: keys[0]'s.
	parts []int
	keys  []string
	args  []any
	val   any
	err   error
}

// runBatch pipelines several calls of sc (each still atomic on its own;
// go-redis splits a cluster pipeline by node), then reruns one by one the
// calls that hit NOSCRIPT. It returns the first error; each call keeps its
// own.
func (s *Store) runBatch(ctx context.Context, sc *script, calls []*batchCall) error {
	if len(calls) == 0 {
		return nil
	}
	if s.closed.Load() {
		return s.classify(sc.name, redis.ErrClosed)
	}
	pipe := s.rw.Pipeline()
	cmds := make([]onceCmd, len(calls))
	parts := make([]bool, s.space.N())
	for i, c := range calls {
		cmds[i] = onceCmd{redis.NewCmd(ctx, evalArgs("evalsha", sc.sha, c.keys, c.args)...)}
		_ = pipe.Process(ctx, cmds[i])
		if c.parts != nil {
			for _, p := range c.parts {
				parts[p] = true
			}
		} else {
			parts[s.partitionOf(c.keys[0])] = true
		}
	}
	// No fence of this process activates an epoch while the batch runs:
	// otherwise a partition's first calls could answer "fence" and its
	// later ones run, and rerunning the first ones after them would break
	// the batch's order within a partition (a bulk job's line order). The
	// calls that fence are then a partition's whole tail, rerun in order.
	for p := range parts {
		if parts[p] {
			s.fencing[p].RLock()
		}
	}
	_, _ = pipe.Exec(ctx) // errors are read per command below
	for p := range parts {
		if parts[p] {
			s.fencing[p].RUnlock()
		}
	}
	var first error
	for i, c := range calls {
		err := cmds[i].Err()
		if (err != nil && redis.HasErrorPrefix(err, "NOSCRIPT")) || (err == nil && isFence(cmds[i].Val())) {
			c.val, c.err = s.run(ctx, sc, c.keys, c.args...)
		} else if err != nil && sc == scriptFeed {
			c.err = s.classify(sc.name, err) // a read: no unknown outcome
		} else if err != nil {
			c.err = s.writeErr(sc.name, err)
		} else {
			c.val = cmds[i].Val()
		}
		if c.err != nil && first == nil {
			first = c.err
		}
	}
	return first
}
