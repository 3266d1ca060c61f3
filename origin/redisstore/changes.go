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
		if page.First, err = firstSeqOf(msgs[0]); err != nil {
			return page, err
		}
	}
	// An entry's ID is its last seq, so the entries from after+1 on hold
	// every change after "after"; a run (run_add in lua/common.lua) that
	// began at or before it is cut, and the page at limit.
	for _, m := range rng.Val() {
		if page.Changes, err = appendChanges(page.Changes, partition, m, after, limit); err != nil {
			return page, err
		}
		if len(page.Changes) >= limit {
			break
		}
	}
	if n := len(page.Changes); n > 0 {
		page.Head = max(page.Head, page.Changes[n-1].Seq)
	}
	return page, nil
}

// appendChanges appends the changes of log entry m with seq > after to
// out, up to limit in all: one for an entry of one change, those of a run
// for a run entry (field "r": "<first seq> <at ms> <key> <version> ...",
// its ID the last seq).
func appendChanges(out []change.Change, partition int, m redis.XMessage, after uint64, limit int) ([]change.Change, error) {
	run, ok := m.Values["r"].(string)
	if !ok {
		c, err := changeFromEntry(partition, m)
		if err != nil {
			return out, err
		}
		if c.Seq > after {
			out = append(out, c)
		}
		return out, nil
	}
	last, err := entrySeq(m.ID)
	if err != nil {
		return out, err
	}
	first, rest, ok1 := strings.Cut(run, " ")
	at, rest, ok2 := strings.Cut(rest, " ")
	seq, err1 := strconv.ParseUint(first, 10, 64)
	ms, err2 := strconv.ParseInt(at, 10, 64)
	if !ok1 || !ok2 || err1 != nil || err2 != nil || seq == 0 || seq > last {
		return out, errBadReplyf("change run %s: %.40q", m.ID, run)
	}
	for ; rest != ""; seq++ {
		var k, v string
		var okk, okv bool
		k, rest, okk = strings.Cut(rest, " ")
		v, rest, okv = strings.Cut(rest, " ")
		if !okk || (!okv && rest != "") || seq > last {
			return out, errBadReplyf("change run %s: malformed at seq %d", m.ID, seq)
		}
		if seq <= after {
			continue
		}
		if len(out) >= limit {
			return out, nil
		}
		c := change.Change{Partition: partition, Seq: seq, Key: k, AtUnixMs: ms}
		if c.Version, err = strconv.ParseUint(v, 10, 64); err != nil {
			return out, errBadReplyf("change run %s: version %q", m.ID, v)
		}
		if err := c.Validate(); err != nil {
			return out, fmt.Errorf("%w: %w", errBadReply, err)
		}
		out = append(out, c)
	}
	if seq != last+1 {
		return out, errBadReplyf("change run %s: ends at seq %d", m.ID, seq-1)
	}
	return out, nil
}

// firstSeqOf returns the first seq a change log entry holds: its ID's,
// or a run's first.
func firstSeqOf(m redis.XMessage) (uint64, error) {
	run, ok := m.Values["r"].(string)
	if !ok {
		return entrySeq(m.ID)
	}
	first, _, _ := strings.Cut(run, " ")
	n, err := strconv.ParseUint(first, 10, 64)
	if err != nil || n == 0 {
		return 0, errBadReplyf("change run %s: %.40q", m.ID, run)
	}
	return n, nil
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
