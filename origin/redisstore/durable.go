package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
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

// The same holds for what an answer rests on. A refusal ("insufficient"
// because of a hold the replicas never got), a replay of a write another
// connection made, or a read of the master can show a write that a
// failover then loses: the client would see state appear and vanish (a
// dirty read; faults TestClusterMasterKillNoOversell caught one as a
// non-linearizable history: a read saw a commit that was answered
// outcome_unknown, lost with the master, and applied again by its retry).
// So every durable script's answer, whatever it is, and every durable read
// waits for the replicas. The WAIT follows, on the same connection, a
// write to the partition's sync key (syncKey). WAIT waits for the
// replication offset recorded for its connection: Redis 7.0 (what the
// tests run) records it after every command, read-only ones included, but
// that is incidental (WAIT is documented for the client's writes, and
// WAITAOF's docs say so outright); where only a propagated write records
// it, a script that wrote nothing would be confirmed against an older
// offset than the state it read. After the sync write WAIT covers
// everything the master had applied when the script ran, either way.

// syncTTL keeps sync keys from piling up (one per partition or job tag).
const syncTTL = time.Minute

// syncKey is the key whose write moves a connection's replication offset
// to the master's: in the same hash slot as key (its {tag}), so the same
// node owns it.
func (s *Store) syncKey(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i:], '}'); j > 1 {
			return key[:i+j+1] + ":sync"
		}
	}
	return s.ks.prefix + ":sync"
}

// queueSyncWait adds the sync write and the WAIT to pipe; the WAIT's
// count is what the caller reads.
func (s *Store) queueSyncWait(ctx context.Context, pipe redis.Pipeliner, key string) *redis.IntCmd {
	_ = pipe.Process(ctx, redis.NewStatusCmd(ctx, "set", s.syncKey(key), "1", "px", syncTTL.Milliseconds()))
	w := redis.NewIntCmd(ctx, "wait", s.wait, s.cfg.WaitTimeout.Milliseconds())
	_ = pipe.Process(ctx, w)
	return w
}

// readDurable runs read (commands queued on a pipeline of key's master)
// and answers only once the replicas hold everything the master had
// applied when it ran, so a read never shows a write that a failover can
// still lose. Without WAIT it reads through c, as a plain read.
func (s *Store) readDurable(ctx context.Context, op string, c redis.UniversalClient, key string, read func(redis.Pipeliner)) error {
	if s.wait <= 0 {
		pipe := c.Pipeline()
		read(pipe)
		_, err := pipe.Exec(ctx)
		if err != nil && !errors.Is(err, redis.Nil) {
			return s.classify(op, err)
		}
		return nil
	}
	node, err := s.masterFor(ctx, key)
	if err != nil {
		return s.classify(op, err)
	}
	pipe := node.Pipeline()
	read(pipe)
	w := s.queueSyncWait(ctx, pipe, key)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) && w.Err() == nil {
		return s.classify(op, err)
	}
	if acked := w.Val(); w.Err() != nil || acked < int64(s.wait) {
		return fmt.Errorf("%w: redisstore: %s: read on %s, but %d of %d replicas confirmed that state within %v",
			store.ErrUnavailable, op, node.Options().Addr, acked, s.wait, s.cfg.WaitTimeout)
	}
	return nil
}

// runDurable is run followed by a write of the partition's sync key and
// WAIT when the store waits for replicas. Whatever the script answered
// (a write, a replay, a refusal), the answer stands only once the replicas
// hold the state it rests on; otherwise it is ErrOutcomeUnknown.
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
			if err := s.fenceStale(ctx, v, keys); err != nil {
				return nil, err
			}
			continue
		}
		if acked < int64(s.wait) {
			tag, _, _ := replyOf(v)
			return nil, fmt.Errorf("%w: %w: redisstore: %s answered %q on %s but acknowledged by %d of %d replicas within %v",
				store.ErrOutcomeUnknown, store.ErrUnavailable, sc.name, tag, node.Options().Addr, acked, s.wait, s.cfg.WaitTimeout)
		}
		return v, nil
	}
}

// evalWait pipelines EVALSHA, the sync write and WAIT on one connection
// of node (EVAL after NOSCRIPT, which ran nothing).
func (s *Store) evalWait(ctx context.Context, node *redis.Client, sc *script, keys []string, args []any) (any, int64, error) {
	do := func(verb, body string) (any, int64, error) {
		pipe := node.Pipeline()
		cmd := onceCmd{redis.NewCmd(ctx, evalArgs(verb, body, keys, args)...)}
		_ = pipe.Process(ctx, cmd)
		w := s.queueSyncWait(ctx, pipe, keys[0])
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
		w := s.queueSyncWait(ctx, pipe, nb.calls[0].keys[0])
		_, _ = pipe.Exec(ctx) // errors are read per command below
		// answered: some line has an answer (a write, a replay or a
		// refusal) that stands only once the replicas hold what it saw.
		answered := false
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
				answered = true
			}
			if c.err != nil && first == nil {
				first = c.err
			}
		}
		acked := w.Val()
		// A big pipeline takes replicas longer than one write: wait a few
		// more rounds before calling the outcome unknown.
		for round := 0; answered && acked < int64(s.wait) && round < batchWaitRounds && ctx.Err() == nil; round++ {
			acked, _ = conn.Do(ctx, "wait", s.wait, s.cfg.WaitTimeout.Milliseconds()).Int64()
		}
		_ = conn.Close()
		if answered && acked < int64(s.wait) && first == nil {
			first = fmt.Errorf("%w: %w: redisstore: %s batch applied on %s but acknowledged by %d of %d replicas within %v",
				store.ErrOutcomeUnknown, store.ErrUnavailable, sc.name, nb.node.Options().Addr, acked, s.wait, time.Duration(batchWaitRounds+1)*s.cfg.WaitTimeout)
		}
	}
	return first
}
