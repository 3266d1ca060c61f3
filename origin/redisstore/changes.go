package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/origin/store"
)

// maxChangesLimit caps one Changes page.
const maxChangesLimit = 10000

// Changes returns up to limit changes of partition with seq > after. One
// pipeline on one node reads the page, then the first retained entry, then
// the head, in that order: a trim or a write landing in between can only
// make First and Head newer than the page, so a reader never misses a gap.
func (s *Store) Changes(ctx context.Context, partition int, after uint64, limit int) (change.Page, error) {
	page := change.Page{Partition: partition}
	if partition < 0 || partition >= s.space.N() {
		return page, fmt.Errorf("%w: partition %d", store.ErrInvalid, partition)
	}
	if after == math.MaxUint64 {
		after-- // nothing follows it; keep after+1 from wrapping to 0
	}
	if limit <= 0 || limit > maxChangesLimit {
		limit = maxChangesLimit
	}
	if s.closed.Load() {
		return page, s.classify("changes", redis.ErrClosed)
	}
	log := s.ks.log(partition)
	pipe := s.ro.Pipeline()
	rng := pipe.XRangeN(ctx, log, strconv.FormatUint(after+1, 10)+"-0", "+", int64(limit))
	first := pipe.XRangeN(ctx, log, "-", "+", 1)
	head := pipe.Get(ctx, s.ks.seq(partition))
	if err := execReads(ctx, pipe); err != nil {
		return page, s.classify("changes", err)
	}
	var err error
	if page.Head, err = seqValue(head); err != nil {
		return page, err
	}
	if msgs := first.Val(); len(msgs) > 0 {
		if page.First, err = entrySeq(msgs[0].ID); err != nil {
			return page, err
		}
	}
	for _, m := range rng.Val() {
		c, err := changeFromEntry(partition, m)
		if err != nil {
			return page, err
		}
		page.Changes = append(page.Changes, c)
		page.Head = max(page.Head, c.Seq)
	}
	return page, nil
}

// Heads returns every partition's head seq: 64 GETs pipelined (go-redis
// sends a cluster pipeline to each node with that node's keys), never one
// multi-key command across slots.
func (s *Store) Heads(ctx context.Context) ([]uint64, error) {
	if s.closed.Load() {
		return nil, s.classify("heads", redis.ErrClosed)
	}
	pipe := s.ro.Pipeline()
	cmds := make([]*redis.StringCmd, s.space.N())
	for p := range cmds {
		cmds[p] = pipe.Get(ctx, s.ks.seq(p))
	}
	if err := execReads(ctx, pipe); err != nil {
		return nil, s.classify("heads", err)
	}
	heads := make([]uint64, s.space.N())
	for p, c := range cmds {
		h, err := seqValue(c)
		if err != nil {
			return nil, err
		}
		heads[p] = h
	}
	return heads, nil
}

// execReads runs a pipeline of reads and returns the first error of any
// command other than redis.Nil (a missing key is an answer, not a failure;
// Exec alone would report a Nil ahead of a real error behind it).
func execReads(ctx context.Context, pipe redis.Pipeliner) error {
	cmds, err := pipe.Exec(ctx)
	if len(cmds) == 0 {
		return err
	}
	for _, c := range cmds {
		if e := c.Err(); e != nil && !errors.Is(e, redis.Nil) {
			return e
		}
	}
	return nil
}

// seqValue reads a seq counter; a missing one is 0.
func seqValue(c *redis.StringCmd) (uint64, error) {
	v, err := c.Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, errBadReplyf("seq %q", v)
	}
	return n, nil
}

// entrySeq reads the seq out of a stream entry ID "<seq>-0".
func entrySeq(id string) (uint64, error) {
	ms, _, ok := strings.Cut(id, "-")
	n, err := strconv.ParseUint(ms, 10, 64)
	if !ok || err != nil || n == 0 {
		return 0, errBadReplyf("stream entry id %q", id)
	}
	return n, nil
}

func changeFromEntry(partition int, m redis.XMessage) (change.Change, error) {
	c := change.Change{Partition: partition}
	var err error
	if c.Seq, err = entrySeq(m.ID); err != nil {
		return c, err
	}
	var k, v, t string
	if packed, ok := m.Values["c"].(string); ok {
		// "<key> <version> <at ms>" (append_change in lua/common.lua).
		var rest string
		var ok1, ok2 bool
		k, rest, ok1 = strings.Cut(packed, " ")
		v, t, ok2 = strings.Cut(rest, " ")
		if !ok1 || !ok2 {
			return c, errBadReplyf("change entry %s: %q", m.ID, packed)
		}
	} else {
		// Entries written before the packed field.
		var ok1, ok2, ok3 bool
		k, ok1 = m.Values["k"].(string)
		v, ok2 = m.Values["v"].(string)
		t, ok3 = m.Values["t"].(string)
		if !ok1 || !ok2 || !ok3 {
			return c, errBadReplyf("change entry %s: %v", m.ID, m.Values)
		}
	}
	c.Key = k
	if c.Version, err = strconv.ParseUint(v, 10, 64); err != nil {
		return c, errBadReplyf("change entry %s version %q", m.ID, v)
	}
	if c.AtUnixMs, err = strconv.ParseInt(t, 10, 64); err != nil {
		return c, errBadReplyf("change entry %s time %q", m.ID, t)
	}
	if p, ok := m.Values["p"].(string); ok {
		n, err := strconv.ParseUint(p, 10, 8)
		if err != nil {
			return c, errBadReplyf("change entry %s purge %q", m.ID, p)
		}
		c.Purge = change.Purge(n)
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("%w: %w", errBadReply, err)
	}
	return c, nil
}

// AppendPurge implements store.Purger.
func (s *Store) AppendPurge(ctx context.Context, key string, purge change.Purge) (change.Change, error) {
	c := change.Change{Partition: s.space.PartitionOfKey(key), Seq: 1, Key: key, Purge: purge}
	if err := c.ValidateIn(s.space); err != nil {
		return c, fmt.Errorf("redisstore: purge: %w: %w", store.ErrInvalid, err)
	}
	at := s.nowMs()
	v, err := s.run(ctx, scriptPurge, []string{s.ks.seq(c.Partition), s.ks.log(c.Partition)},
		key, at, s.cfg.ChangeStreamMaxLen, strconv.Itoa(int(purge)))
	if err != nil {
		return c, err
	}
	tag, rest, err := replyOf(v)
	if err != nil {
		return c, err
	}
	seq, err := firstVersion(rest)
	if err != nil || tag != "ok" {
		return c, fmt.Errorf("%w: purge: tag %q %v", errBadReply, tag, err)
	}
	c.Seq = seq
	c.AtUnixMs, _ = strconv.ParseInt(at, 10, 64)
	return c, nil
}
