package redisstore

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shortstock/shortstock/origin/store"
)

// Fencing: versions and seqs that only grow across a lossy failover.
//
// Redis replicates asynchronously. When a master dies (or restarts from an
// AOF that missed its last writes) and a replica takes over, the keys'
// version counters and the partitions' change and ledger seqs continue
// from what the replica had: numbers already handed out for writes that
// were lost would be handed out again, and an edge that saw the lost
// version would ignore the new write's invalidation (ABA).
//
// So every partition has an epoch, stored in Redis ("<partition>ep", so
// every origin agrees), and every number a write makes is at least
// epoch * 2^32 + 1 (lua/common.lua). The epoch is valid only on the node
// identity (its replication id) it was activated on: a write script
// that runs anywhere else changes nothing and answers "fence"
// (lua/fence.lua), and fence moves the partition to a higher epoch:
//
//  1. fence_prepare records epoch max(e, n) + 1 as prepared (n);
//  2. WAIT until every connected replica holds that;
//  3. fence_activate makes it active for this node's identity.
//
// An epoch is used only after every replica holds it as prepared, so a
// replica promoted later always prepares a higher one, even when the
// activation and every write made under it were lost with the old master.

// maxFenceRounds bounds how often one call fences and reruns: two node
// changes during one call are already a storm; the caller then gets
// ErrUnavailable and retries later.
const maxFenceRounds = 3

// isFence reports whether a script answered {'fence'}, or {'fence',
// key...} (a script of several partitions: the keys of those to fence).
func isFence(v any) bool {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return false
	}
	tag, _ := arr[0].(string)
	return tag == "fence"
}

// fenceStale fences the partitions a fence answer names: keys[0]'s for
// {'fence'}, else each key listed.
func (s *Store) fenceStale(ctx context.Context, v any, keys []string) error {
	arr, _ := v.([]any)
	if len(arr) <= 1 {
		return s.fence(ctx, keys[0])
	}
	for _, k := range arr[1:] {
		key, ok := k.(string)
		if !ok || !strings.Contains(key, "{p") {
			return errBadReplyf("fence answer names %v", k)
		}
		if err := s.fence(ctx, key); err != nil {
			return err
		}
	}
	return nil
}

// masterFor returns the client of the master that owns key: the only
// node, or the cluster's master of key's slot.
func (s *Store) masterFor(ctx context.Context, key string) (*redis.Client, error) {
	if cc, ok := s.rw.(*redis.ClusterClient); ok {
		return cc.MasterForKey(ctx, key)
	}
	return s.rw.(*redis.Client), nil
}

// fence moves key's partition to a new epoch on the master that owns it
// now. It is safe to run concurrently from any number of origins.
func (s *Store) fence(ctx context.Context, key string) error {
	// One fence per partition at a time in this process: the callers
	// that queued behind the first find the epoch active and stop there.
	// Those that queued behind one that finished need no round trip at
	// all: they rerun their script (which fences again, within
	// maxFenceRounds, should the node have changed once more).
	p := s.partitionOf(key)
	gen := s.fenced[p].Load()
	mu := &s.fencing[p]
	mu.Lock()
	defer mu.Unlock()
	if s.fenced[p].Load() != gen {
		return nil
	}
	node, err := s.masterFor(ctx, key)
	if err != nil {
		return s.classify("fence", err)
	}
	// One connection: WAIT covers the writes of the connection it runs on.
	conn := node.Conn()
	defer conn.Close()
	v, err := s.evalOn(ctx, conn, scriptFencePrepare, key)
	if err != nil {
		return s.classify("fence", err)
	}
	tag, rest, err := replyOf(v)
	if err != nil {
		return err
	}
	if tag == "ok" {
		s.fenced[p].Add(1)
		return nil
	}
	epoch, err1 := atInt(rest, 0)
	replicas, err2 := atInt(rest, 1)
	if tag != "pending" || err1 != nil || err2 != nil {
		return fmt.Errorf("%w: fence_prepare: %v", errBadReply, v)
	}
	if replicas > 0 {
		// A fence is rare and every write of the partition waits for it:
		// give slow replicas at least a second.
		timeout := max(s.cfg.WaitTimeout, time.Second)
		acked, err := conn.Wait(ctx, int(replicas), timeout).Result()
		if err != nil {
			return s.classify("fence wait", err)
		}
		if acked < replicas {
			return fmt.Errorf("%w: redisstore: fence: epoch %d of %s prepared, but only %d of %d replicas acknowledged it within %v",
				store.ErrUnavailable, epoch, node.Options().Addr, acked, replicas, timeout)
		}
	}
	if _, err := s.evalOn(ctx, conn, scriptFenceActive, key, epoch); err != nil {
		return s.classify("fence", err)
	}
	s.fenced[p].Add(1)
	level := slog.LevelWarn
	if epoch == 0 {
		level = slog.LevelDebug // a partition's first write ever
	}
	s.log.Log(ctx, level, "redisstore: partition moved to a new epoch (new primary or restarted server)",
		"node", node.Options().Addr, "key", key, "epoch", epoch, "replicas", replicas)
	return nil
}

// evalOn runs sc with one key on conn, loading it on NOSCRIPT.
func (s *Store) evalOn(ctx context.Context, conn *redis.Conn, sc *script, key string, args ...any) (any, error) {
	v, err := conn.EvalSha(ctx, sc.sha, []string{key}, args...).Result()
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		v, err = conn.Eval(ctx, sc.src, []string{key}, args...).Result()
	}
	return v, err
}

// partitionOf reads N out of a key "<prefix>:{pN}:..." (0 for a key
// without one; it only picks a lock).
func (s *Store) partitionOf(key string) int {
	i := strings.Index(key, "{p")
	if i < 0 {
		return 0
	}
	n := 0
	for _, c := range key[i+2:] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n & (s.space.N() - 1)
}

func atInt(rest []any, i int) (int64, error) {
	v, err := at(rest, i)
	if err != nil {
		return 0, err
	}
	return toInt(v)
}
