package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterr "go.etcd.io/bbolt/errors"

	"github.com/shortstock/shortstock/internal/change"
)

// maintainChunk bounds the deletions of one maintenance transaction, so
// maintenance never holds the writer (and every queued write) for long.
const maintainChunk = 5_000

// Maintenance counts what one Maintain pass removed.
type Maintenance struct {
	// ChangesTrimmed is changes removed for age or length.
	ChangesTrimmed int
	// IdempotencyForgotten is idempotency records past IdempotencyTTL.
	IdempotencyForgotten int
	// ReservationsForgotten is ended reservations past
	// ReservationRetention.
	ReservationsForgotten int
}

// maintenanceLoop runs Maintain every MaintenanceInterval until Close.
func (s *Store) maintenanceLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.MaintenanceInterval)
	defer t.Stop()
	ctx := s.ctx
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		m, err := s.Maintain(ctx)
		if err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("embedded store maintenance failed", "err", err)
		} else if m != (Maintenance{}) {
			s.cfg.Logger.Debug("embedded store maintenance", "changes_trimmed", m.ChangesTrimmed,
				"idempotency_forgotten", m.IdempotencyForgotten, "reservations_forgotten", m.ReservationsForgotten)
		}
	}
}

// Maintain runs one maintenance pass at Config.Clock's now: it trims every
// partition's change log to ChangeLogMaxLen and ChangeLogMaxAge (keeping
// the newest change), and forgets idempotency records past IdempotencyTTL
// and ended reservations past ReservationRetention. Work is found through
// the time-ordered indexes, never by scanning, and done in small
// transactions. The background loop calls it; tests and tools may too.
func (s *Store) Maintain(ctx context.Context) (Maintenance, error) {
	var total Maintenance
	now := s.cfg.Clock.Now()
	due, err := s.maintenanceDue(ctx, now)
	if err != nil {
		return total, err
	}
	for _, p := range due {
		for {
			if err := s.begin(ctx, "maintain"); err != nil {
				return total, err
			}
			var m Maintenance
			var more bool
			err := s.db.Update(func(tx *bolt.Tx) error {
				m, more = Maintenance{}, false
				pt, err := partOf(tx, p)
				if err != nil {
					return err
				}
				m, more, err = s.maintainPartition(pt, now)
				return err
			})
			if err != nil {
				return total, s.storageErr("maintain", err)
			}
			s.notifyChanged()
			total.ChangesTrimmed += m.ChangesTrimmed
			total.IdempotencyForgotten += m.IdempotencyForgotten
			total.ReservationsForgotten += m.ReservationsForgotten
			if !more {
				break
			}
		}
	}
	return total, nil
}

// maintenanceDue lists the partitions a pass has work in, found in one
// read transaction: each partition's pass is run on the read-only
// transaction, where its first deletion fails with ErrTxNotWritable. So an
// idle store's pass is one read of every partition's index fronts, not a
// write transaction (and an fsync) per partition: 1024 of them every
// MaintenanceInterval at the default count.
func (s *Store) maintenanceDue(ctx context.Context, now time.Time) ([]int, error) {
	var due []int
	err := s.view(ctx, "maintain", func(tx *bolt.Tx) error {
		due = due[:0]
		for p := range s.space.N() {
			pt, err := partOf(tx, p)
			if err != nil {
				return err
			}
			_, _, err = s.maintainPartition(pt, now)
			switch {
			case errors.Is(err, bolterr.ErrTxNotWritable):
				due = append(due, p)
			case err != nil:
				return err
			}
		}
		return nil
	})
	return due, err
}

// maintainPartition does up to maintainChunk units of work (deletions,
// index entries looked at) in one partition; more reports that the budget
// ran out with work possibly left.
func (s *Store) maintainPartition(pt *part, now time.Time) (m Maintenance, more bool, err error) {
	head, err := pt.head()
	if err != nil {
		return m, false, err
	}
	budget := maintainChunk
	steps := []struct {
		count *int
		run   func(limit int) (removed, work int, err error)
	}{
		{&m.ChangesTrimmed, func(limit int) (int, int, error) { return trimToLen(pt, head, s.cfg.ChangeLogMaxLen, limit) }},
		{&m.ChangesTrimmed, func(limit int) (int, int, error) {
			return trimByAge(pt, head, now.Add(-s.cfg.ChangeLogMaxAge).UnixMilli(), limit)
		}},
		{&m.IdempotencyForgotten, func(limit int) (int, int, error) { return s.forgetIdempotency(pt, now, limit) }},
		{&m.ReservationsForgotten, func(limit int) (int, int, error) {
			return forgetReservations(pt, now.Add(-s.cfg.ReservationRetention), limit)
		}},
	}
	for _, st := range steps {
		removed, work, err := st.run(budget)
		*st.count += removed
		if err != nil {
			return m, false, err
		}
		if budget -= work; budget <= 0 {
			return m, true, nil
		}
	}
	return m, false, nil
}

// trimByAge deletes up to limit changes older than cutoffMs from the front
// of the log, but never the head: the newest change stays, so First keeps
// telling readers what they missed.
func trimByAge(pt *part, head uint64, cutoffMs int64, limit int) (removed, work int, err error) {
	c := pt.log.Cursor()
	for k, v := c.First(); k != nil && removed < limit; k, v = c.First() {
		if len(k) != 8 {
			return removed, removed, fmt.Errorf("%w: log key of %d bytes in partition %d", errCorrupt, len(k), pt.p)
		}
		if binary.BigEndian.Uint64(k) >= head {
			break
		}
		ch, _, err := change.Decode(v)
		if err != nil {
			return removed, removed, fmt.Errorf("%w: change %x of partition %d: %w", errCorrupt, k, pt.p, err)
		}
		if ch.AtUnixMs >= cutoffMs {
			break
		}
		if err := pt.log.Delete(k); err != nil {
			return removed, removed, err
		}
		removed++
	}
	return removed, removed, nil
}

// forgetIdempotency deletes idempotency records past their TTL, oldest
// first through the age index, looking at up to limit index entries. A key
// recorded again after its earlier record expired has a newer index entry:
// the old entry is dropped without touching the new record.
func (s *Store) forgetIdempotency(pt *part, now time.Time, limit int) (removed, work int, err error) {
	var done [][]byte
	c := pt.idemAge.Cursor()
	for k, _ := c.First(); k != nil && len(done) < limit; k, _ = c.Next() {
		at, ik, err := parseTimeKey(k)
		if err != nil {
			return removed, len(done), err
		}
		if !s.idemExpired(at, now) {
			break
		}
		done = append(done, bytes.Clone(k))
		v := pt.idem.Get(ik)
		if v == nil {
			continue
		}
		recAt, err := idemRecordTime(ik, v)
		if err != nil {
			return removed, len(done), err
		}
		if recAt.Equal(at) {
			if err := pt.idem.Delete(ik); err != nil {
				return removed, len(done), err
			}
			removed++
		}
	}
	for _, k := range done {
		if err := pt.idemAge.Delete(k); err != nil {
			return removed, len(done), err
		}
	}
	return removed, len(done), nil
}

// forgetReservations deletes reservations that ended before cutoff,
// through the settled index, looking at up to limit index entries.
func forgetReservations(pt *part, cutoff time.Time, limit int) (removed, work int, err error) {
	var done [][]byte
	c := pt.settled.Cursor()
	for k, _ := c.First(); k != nil && len(done) < limit; k, _ = c.Next() {
		at, id, err := parseTimeKey(k)
		if err != nil {
			return removed, len(done), err
		}
		if !at.Before(cutoff) {
			break
		}
		done = append(done, bytes.Clone(k))
		r, err := getRes(pt.res, string(id))
		if err != nil {
			return removed, len(done), err
		}
		if r != nil && r.status != stHeld {
			if err := pt.res.Delete(bytes.Clone(id)); err != nil {
				return removed, len(done), err
			}
			removed++
		}
	}
	for _, k := range done {
		if err := pt.settled.Delete(k); err != nil {
			return removed, len(done), err
		}
	}
	return removed, len(done), nil
}
