package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"
)

// maxExpirePerCall bounds one ExpireHolds transaction, so a backlog after
// downtime is worked off in steps that never hold the writer for long.
const maxExpirePerCall = 10_000

// noteHold tells ExpireHolds that a hold expiring at t may exist: the due
// time of its last scan no longer holds past t. Reserve calls it after its
// write, committed or not (noting too much only costs a scan).
func (s *Store) noteHold(t time.Time) {
	s.holdsMu.Lock()
	defer s.holdsMu.Unlock()
	s.holdsGen++
	if ns := t.UnixNano(); s.holdsDue != 0 && ns < s.holdsDue {
		s.holdsDue = ns
	}
}

// timeKeyNanos is the time of a timeKey prefix in unix ns (rounded down to
// the ns); no key (no holds at all) is math.MaxInt64.
func timeKeyNanos(k []byte) int64 {
	if len(k) < timeKeyLen {
		return math.MaxInt64
	}
	sec := int64(binary.BigEndian.Uint64(k) ^ (1 << 63))
	nsec := int64(binary.BigEndian.Uint32(k[8:]))
	return time.Unix(sec, nsec).UnixNano()
}

// ExpireHolds expires up to limit held reservations whose expiry is at or
// before now. The holds index is ordered by expiry, so finding due holds
// never scans: a read transaction first looks at each partition's oldest
// hold (and returns without writing when none is due: no fsync on every
// tick of every origin); then one batched write expires them, re-reading
// each hold, so concurrent callers expire each hold exactly once. The
// starting partition rotates, so a small limit still reaches every partition
// over successive calls.
func (s *Store) ExpireHolds(ctx context.Context, now time.Time, limit int) (int, error) {
	if err := s.begin(ctx, "expire holds"); err != nil || limit <= 0 {
		return 0, err
	}
	limit = min(limit, maxExpirePerCall)
	nowKey := appendTimeKey(nil, now)
	due := func(k []byte) bool { return len(k) >= timeKeyLen && bytes.Compare(k[:timeKeyLen], nowKey) <= 0 }

	// Idle cost: with nothing due since the last scan, do not look at every
	// partition's index again (1024 bucket reads a second, per origin).
	s.holdsMu.Lock()
	next, gen := s.holdsDue, s.holdsGen
	s.holdsMu.Unlock()
	if next != 0 && now.UnixNano() < next {
		return 0, nil
	}
	var parts []int
	var earliest []byte // the oldest hold key of all partitions
	err := s.view(ctx, "expire holds", func(tx *bolt.Tx) error {
		parts, earliest = parts[:0], nil
		for p := range s.space.N() {
			holds, err := subOf(tx, p, bucketHolds)
			if err != nil {
				return err
			}
			k, _ := holds.Cursor().First()
			if k != nil && due(k) {
				parts = append(parts, p)
			}
			if len(k) >= timeKeyLen && (earliest == nil || bytes.Compare(k[:timeKeyLen], earliest) < 0) {
				earliest = bytes.Clone(k[:timeKeyLen])
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if len(parts) == 0 {
		s.holdsMu.Lock()
		if s.holdsGen == gen { // no hold was added meanwhile
			s.holdsDue = timeKeyNanos(earliest)
		}
		s.holdsMu.Unlock()
		return 0, nil
	}

	start := int(s.expireStart.Add(1))
	var n int
	err = s.write(ctx, "expire holds", func(tx *bolt.Tx) error {
		n = 0
		for i := range parts {
			if n >= limit {
				break
			}
			pt, err := partOf(tx, parts[(start+i)%len(parts)])
			if err != nil {
				return err
			}
			// Collect first: deleting under a cursor skips entries.
			var ids []string
			var stale [][]byte
			c := pt.holds.Cursor()
			for k, _ := c.First(); k != nil && due(k) && n+len(ids) < limit; k, _ = c.Next() {
				ids = append(ids, string(k[timeKeyLen:]))
				stale = append(stale, bytes.Clone(k))
			}
			for j, id := range ids {
				r, err := getRes(pt.res, id)
				if err != nil {
					return err
				}
				if r == nil || r.status != stHeld {
					// Settled without leaving the index (cannot happen:
					// finishHold removes it); only tidy the index.
					if err := pt.holds.Delete(stale[j]); err != nil {
						return err
					}
					continue
				}
				if err := s.finishHold(pt, id, r, stExpired); err != nil {
					return err
				}
				n++
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
