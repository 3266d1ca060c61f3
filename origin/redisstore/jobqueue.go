package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shortstock/shortstock/origin/store"
)

// The bulk job queue is a Redis Stream with one consumer group, which every
// origin of the region reads as its own consumer (its job owner name):
//
//   - a queued job is one entry (job_enqueue.lua, with WaitReplicas
//     acknowledged by replicas before the 202);
//   - XREADGROUP ">" hands each new entry to exactly one origin;
//   - an entry stays in that consumer's pending list until the job ends
//     (job_dequeue.lua: XACK and XDEL), so a crash loses nothing: the
//     restarted origin is a new consumer, and any origin takes the dead
//     one's entries over with XAUTOCLAIM once they have been idle for the
//     job lease;
//   - a worker re-reads its own pending entries (XREADGROUP "0") at every
//     look, and refreshes their idle time while it runs them, so a live
//     worker's job is not claimed away.
//
// The stream decides who is asked to run a job; the job hash's lease
// (job_claim.lua) still decides who may, and each line's bit applies it
// once however many workers ran its chunk.

// jobGroup is the consumer group every origin reads the job stream in.
const jobGroup = "workers"

// jobReadCount bounds the entries one look reads of each kind (own,
// claimed, new).
const jobReadCount = 64

// consumerPruneEvery is how often a store drops the group's consumers
// that hold nothing and have been idle for an hour (each origin process
// is a consumer; restarts would pile them up).
const consumerPruneEvery = time.Hour

// queueJob adds the job to the stream; with WaitReplicas, replicas hold
// the entry before the job is acknowledged, so a failover cannot forget it.
func (s *Store) queueJob(ctx context.Context, id string, _ time.Time) error {
	_, err := s.runDurable(ctx, scriptJobEnqueue, []string{s.ks.jobStream(), s.ks.jobStreamIDs()}, id, jobGroup)
	return err
}

// dequeueJob takes an ended job off the stream (idempotent).
func (s *Store) dequeueJob(ctx context.Context, id string) error {
	s.prefetch.forget(id)
	_, err := s.run(ctx, scriptJobDequeue, []string{s.ks.jobStream(), s.ks.jobStreamIDs()}, id, jobGroup)
	return err
}

// PendingJobs lists the jobs in the stream, oldest first: queued and
// running ones, and ended ones not yet taken off.
func (s *Store) PendingJobs(ctx context.Context) ([]string, error) {
	if s.closed.Load() {
		return nil, s.classify("pending jobs", redis.ErrClosed)
	}
	if err := s.drainLegacyQueue(ctx); err != nil {
		return nil, err
	}
	msgs, err := s.rw.XRange(ctx, s.ks.jobStream(), "-", "+").Result()
	if err != nil {
		return nil, s.classify("pending jobs", err)
	}
	return jobIDs(nil, msgs), nil
}

// NextJobs returns the jobs owner should run now, oldest first within
// each kind: those the stream has already handed it (still pending on
// it), those another consumer has left idle for stale (a dead origin's),
// which it takes over, and new ones, which become its own. Every one it
// returns is in owner's pending list until the job ends.
func (s *Store) NextJobs(ctx context.Context, owner string, stale time.Duration) ([]string, error) {
	if s.closed.Load() {
		return nil, s.classify("next jobs", redis.ErrClosed)
	}
	if err := s.drainLegacyQueue(ctx); err != nil {
		return nil, err
	}
	ids, err := s.nextJobs(ctx, owner, stale)
	if isNoGroup(err) {
		// The stream or its group is gone (a flushed or new Redis, or a
		// failover that lost them before any job was queued): make them.
		if err = s.rw.XGroupCreateMkStream(ctx, s.ks.jobStream(), jobGroup, "0").Err(); err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
			return nil, s.classify("next jobs", err)
		}
		ids, err = s.nextJobs(ctx, owner, stale)
	}
	if err != nil {
		return nil, s.classify("next jobs", err)
	}
	s.pruneConsumers(ctx)
	return ids, nil
}

func (s *Store) nextJobs(ctx context.Context, owner string, stale time.Duration) ([]string, error) {
	stream := s.ks.jobStream()
	read := func(from string) ([]redis.XMessage, error) {
		res, err := s.rw.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: jobGroup, Consumer: owner, Streams: []string{stream, from}, Count: jobReadCount, Block: -1,
		}).Result()
		if errors.Is(err, redis.Nil) {
			return nil, nil
		}
		if err != nil || len(res) == 0 {
			return nil, err
		}
		return res[0].Messages, nil
	}
	// Own first: re-reading them also resets their idle time, which keeps
	// them from being claimed while this worker is alive.
	own, err := read("0")
	if err != nil {
		return nil, err
	}
	claimed, _, err := s.rw.XAutoClaim(ctx, &redis.XAutoClaimArgs{
		Stream: stream, Group: jobGroup, Consumer: owner, MinIdle: stale, Start: "0-0", Count: jobReadCount,
	}).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	fresh, err := read(">")
	if err != nil {
		return nil, err
	}
	// Entries deleted while pending (a job dequeued by another worker)
	// come back without fields: acknowledge them away.
	var gone []string
	for _, ms := range [][]redis.XMessage{own, claimed} {
		for _, m := range ms {
			if _, ok := m.Values["job"].(string); !ok {
				gone = append(gone, m.ID)
			}
		}
	}
	if len(gone) > 0 {
		if err := s.rw.XAck(ctx, stream, jobGroup, gone...).Err(); err != nil {
			return nil, err
		}
	}
	ids := jobIDs(nil, own)
	ids = jobIDs(ids, claimed)
	return jobIDs(ids, fresh), nil
}

// touchForget is how long touchJob remembers a job it no longer refreshes.
const touchForget = time.Hour

// touchJob resets the idle time of owner's entry of a job it is running,
// so no other worker takes it over (NextJobs: after an idle time of one
// lease). Once a quarter lease is enough: each refresh is a write (with
// appendfsync always, an fsync), and a job's steps come many a second.
func (s *Store) touchJob(ctx context.Context, id, owner string, now time.Time, lease time.Duration) {
	key := id + "\x00" + owner
	if last, ok := s.touched.Load(key); ok && now.UnixNano()-last.(int64) < int64(lease/4) {
		return
	}
	s.touched.Store(key, now.UnixNano())
	if now.Sub(time.Unix(0, s.touchPruned.Load())) > touchForget {
		// Jobs another worker ended (or took over) leave their times
		// behind: forget those not refreshed for a while.
		s.touchPruned.Store(now.UnixNano())
		s.touched.Range(func(k, v any) bool {
			if now.UnixNano()-v.(int64) > int64(touchForget) {
				s.touched.Delete(k)
			}
			return true
		})
	}
	entry, err := s.rw.HGet(ctx, s.ks.jobStreamIDs(), id).Result()
	if err != nil {
		return // not queued (any more): nothing to keep
	}
	// XCLAIM with min-idle 0 makes it owner's and resets its idle time;
	// JUSTID leaves the delivery count alone.
	_ = s.rw.XClaimJustID(ctx, &redis.XClaimArgs{
		Stream: s.ks.jobStream(), Group: jobGroup, Consumer: owner, MinIdle: 0, Messages: []string{entry},
	}).Err()
}

// jobIDs appends the job IDs of msgs to ids, skipping repeats and
// entries without a job (deleted while pending).
func jobIDs(ids []string, msgs []redis.XMessage) []string {
	for _, m := range msgs {
		id, ok := m.Values["job"].(string)
		if !ok || !store.ValidJobID(id) {
			continue
		}
		dup := false
		for _, have := range ids {
			if have == id {
				dup = true
				break
			}
		}
		if !dup {
			ids = append(ids, id)
		}
	}
	return ids
}

func isNoGroup(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "NOGROUP") }

// drainLegacyQueue moves the jobs of the queue before the stream (a ZSET
// of pending IDs, written by earlier versions) into the stream, once per
// store; an entry is removed from the ZSET only after it is in the stream.
func (s *Store) drainLegacyQueue(ctx context.Context) error {
	if s.legacyDrained.Load() {
		return nil
	}
	ids, err := s.rw.ZRange(ctx, s.ks.jobQueue(), 0, -1).Result()
	if err != nil {
		return s.classify("drain old job queue", err)
	}
	for _, id := range ids {
		if err := s.queueJob(ctx, id, time.Time{}); err != nil {
			return fmt.Errorf("redisstore: moving job %s to the stream: %w", id, err)
		}
		if err := s.rw.ZRem(ctx, s.ks.jobQueue(), id).Err(); err != nil {
			return s.classify("drain old job queue", err)
		}
	}
	s.legacyDrained.Store(true)
	return nil
}

// pruneConsumers drops, at most once per consumerPruneEvery, the group's
// consumers with nothing pending that have been idle for an hour.
func (s *Store) pruneConsumers(ctx context.Context) {
	now := time.Now().UnixNano()
	last := s.consumersPruned.Load()
	if now-last < int64(consumerPruneEvery) || !s.consumersPruned.CompareAndSwap(last, now) {
		return
	}
	cs, err := s.rw.XInfoConsumers(ctx, s.ks.jobStream(), jobGroup).Result()
	if err != nil {
		return
	}
	for _, c := range cs {
		if c.Pending == 0 && c.Idle > time.Hour {
			_ = s.rw.XGroupDelConsumer(ctx, s.ks.jobStream(), jobGroup, c.Name).Err()
		}
	}
}

var _ store.JobQueue = (*Store)(nil)
