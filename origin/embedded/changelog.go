package embedded

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/origin/store"
)

// maxChangesLimit caps one Changes page (and is what limit <= 0 means).
const maxChangesLimit = 10_000

// inlineTrimMax bounds how many old changes one append deletes. More than
// one, so a log over its length (after ChangeLogMaxLen was lowered) shrinks
// back while writes go on; few, so no write pays for a big trim.
const inlineTrimMax = 4

// appendChange records, in the write's own transaction, that key reached
// version: the partition's head moves to the next seq, and the change is
// stored under it in the change.Change wire form (validated on read). The
// log is trimmed to ChangeLogMaxLen here, so its length is bounded without
// the maintenance loop; trimming by age is the loop's job.
func (s *Store) appendChange(pt *part, key string, version uint64) error {
	_, err := s.appendLogged(pt, change.Change{Key: key, Version: version})
	return err
}

// appendLogged appends c (Key, Version, Purge) to pt's log at the next seq
// and returns it as logged.
func (s *Store) appendLogged(pt *part, c change.Change) (change.Change, error) {
	head, err := pt.head()
	if err != nil {
		return c, err
	}
	c.Partition, c.Seq, c.AtUnixMs = pt.p, head+1, s.cfg.Clock.Now().UnixMilli()
	if err := pt.log.Put(seqKey(c.Seq), c.AppendBinary(nil)); err != nil {
		return c, err
	}
	if err := pt.root.Put(keyHead, seqKey(c.Seq)); err != nil {
		return c, err
	}
	_, _, err = trimToLen(pt, c.Seq, s.cfg.ChangeLogMaxLen, inlineTrimMax)
	// Marked only once the change is visible: a tailer woken earlier
	// would read the log without it. A rolled-back transaction (a batch
	// retried without a failing function) marks nothing; its retry does.
	p, seq := pt.p, c.Seq
	pt.root.Tx().OnCommit(func() {
		s.noteHead(p, seq) // before the mark: a woken tailer's Heads has it
		s.markPartition(p)
	})
	return c, err
}

// AppendPurge implements store.Purger.
func (s *Store) AppendPurge(ctx context.Context, key string, purge change.Purge) (change.Change, error) {
	c := change.Change{Partition: s.space.PartitionOfKey(key), Seq: 1, Key: key, Purge: purge}
	if err := c.ValidateIn(s.space); err != nil {
		return c, fmt.Errorf("embedded: purge: %w: %w", store.ErrInvalid, err)
	}
	var logged change.Change
	err := s.write(ctx, "purge", func(tx *bolt.Tx) error {
		pt, err := partOf(tx, c.Partition)
		if err != nil {
			return err
		}
		logged, err = s.appendLogged(pt, c)
		return err
	})
	return logged, err
}

// trimToLen deletes up to limit of the oldest changes while the log holds
// more than maxLen, and returns how many it deleted (twice: removed and
// work, for maintenance). Seqs are contiguous from the first retained to
// head, so the length is head - first + 1.
func trimToLen(pt *part, head uint64, maxLen, limit int) (removed, work int, err error) {
	c := pt.log.Cursor()
	for k, _ := c.First(); k != nil && removed < limit; k, _ = c.First() {
		if len(k) != 8 {
			return removed, removed, fmt.Errorf("%w: log key of %d bytes in partition %d", errCorrupt, len(k), pt.p)
		}
		if first := binary.BigEndian.Uint64(k); first > head || head-first+1 <= uint64(maxLen) {
			break
		}
		if err := pt.log.Delete(k); err != nil {
			return removed, removed, err
		}
		removed++
	}
	return removed, removed, nil
}

// Changes returns up to limit changes of partition with seq > after, with
// the partition's head and first retained seq, all from one read
// transaction, so they agree with each other.
func (s *Store) Changes(ctx context.Context, partition int, after uint64, limit int) (change.Page, error) {
	page := change.Page{Partition: partition}
	if partition < 0 || partition >= s.space.N() {
		return page, fmt.Errorf("embedded: changes: %w: partition %d", store.ErrInvalid, partition)
	}
	if limit <= 0 || limit > maxChangesLimit {
		limit = maxChangesLimit
	}
	err := s.view(ctx, "changes", func(tx *bolt.Tx) error {
		page.Changes = nil
		pt, err := logPartOf(tx, partition)
		if err != nil {
			return err
		}
		if page.Head, err = pt.head(); err != nil {
			return err
		}
		if page.First, err = pt.first(); err != nil {
			return err
		}
		if after >= page.Head {
			return nil
		}
		c := pt.log.Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil && len(page.Changes) < limit; k, v = c.Next() {
			ch, rest, err := change.Decode(v)
			if err != nil || len(rest) != 0 || len(k) != 8 || ch.Seq != binary.BigEndian.Uint64(k) || ch.Partition != partition {
				return fmt.Errorf("%w: change %x of partition %d: %v", errCorrupt, k, partition, err)
			}
			page.Changes = append(page.Changes, ch)
		}
		return nil
	})
	if err != nil {
		return change.Page{Partition: partition}, err
	}
	return page, nil
}

// Heads returns the head seq of every partition, as committed. It reads
// the in-memory copy (loadHeads, noteHead) instead of opening all the
// partitions' buckets in a read transaction: every edge polls it, and at
// 1024 partitions each call opened 1024 buckets (~210 KB of garbage).
func (s *Store) Heads(ctx context.Context) ([]uint64, error) {
	if err := s.begin(ctx, "heads"); err != nil {
		return nil, err
	}
	heads := make([]uint64, len(s.heads))
	for p := range heads {
		heads[p] = s.heads[p].Load()
	}
	return heads, nil
}

// loadHeads reads every partition's head from the file into s.heads, once
// at Open; from then on noteHead keeps them (appendLogged is the only
// writer of a head).
func (s *Store) loadHeads() error {
	var heads []uint64
	err := s.db.View(func(tx *bolt.Tx) (err error) {
		heads, err = readHeads(tx, s.space.N())
		return err
	})
	s.heads = make([]atomic.Uint64, len(heads))
	for p, h := range heads {
		s.heads[p].Store(h)
	}
	return err
}

// readHeads reads the heads of partitions 0..n-1 in tx.
func readHeads(tx *bolt.Tx, n int) ([]uint64, error) {
	heads := make([]uint64, n)
	for p := range heads {
		pt, err := partWith(tx, p, 0)
		if err != nil {
			return nil, err
		}
		if heads[p], err = pt.head(); err != nil {
			return nil, err
		}
	}
	return heads, nil
}

// noteHead records a committed head of partition p; heads only grow.
func (s *Store) noteHead(p int, seq uint64) {
	for {
		cur := s.heads[p].Load()
		if seq <= cur || s.heads[p].CompareAndSwap(cur, seq) {
			return
		}
	}
}
