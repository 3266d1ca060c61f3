package redisstore

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// metaPartitions is the field of the meta hash holding the partition count.
const metaPartitions = "partitions"

// Partitions implements store.Store: the count recorded in "<prefix>:meta",
// which New checked equals Config.Partitions.
func (s *Store) Partitions() keys.Space { return s.space }

// checkPartitions reads the partition count recorded in the meta hash, or
// records one: the configured count for a new store, keys.LegacyPartitions
// for data written before the count was recorded (a legacy store has a
// change counter in one of its 64 partitions). HSETNX makes origins that
// start together on a new store agree on the first count recorded. It fails
// with store.ErrPartitionMismatch when the recorded count is not the
// configured one.
func (s *Store) checkPartitions(ctx context.Context) error {
	meta := s.ks.meta()
	v, err := s.rw.HGet(ctx, meta, metaPartitions).Result()
	if err == redis.Nil {
		n := s.cfg.Partitions
		legacy, lerr := s.hasLegacyData(ctx)
		if lerr != nil {
			return s.classify("check partitions", lerr)
		}
		if legacy {
			n = keys.LegacyPartitions
		}
		if serr := s.rw.HSetNX(ctx, meta, metaPartitions, n).Err(); serr != nil {
			return s.classify("check partitions", serr)
		}
		v, err = s.rw.HGet(ctx, meta, metaPartitions).Result()
	}
	if err != nil {
		return s.classify("check partitions", err)
	}
	got, err := strconv.Atoi(v)
	if err != nil || keys.ValidPartitions(got) != nil {
		return fmt.Errorf("redisstore: %s has partitions %q, not a valid count", meta, v)
	}
	if got != s.cfg.Partitions {
		return fmt.Errorf("redisstore: %w", &store.PartitionMismatchError{Stored: got, Configured: s.cfg.Partitions})
	}
	return nil
}

// hasLegacyData reports whether a change counter of one of the first
// keys.LegacyPartitions partitions exists: every write appends a change, so
// a store that was ever written has one.
func (s *Store) hasLegacyData(ctx context.Context) (bool, error) {
	legacy := newKeyspace(s.cfg.KeyPrefix, keys.MustSpace(keys.LegacyPartitions))
	pipe := s.rw.Pipeline()
	cmds := make([]*redis.IntCmd, 0, 2*keys.LegacyPartitions)
	for p := range keys.LegacyPartitions {
		cmds = append(cmds, pipe.Exists(ctx, legacy.seq(p)), pipe.Exists(ctx, legacy.moveSeq(p)))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return false, err
	}
	for _, c := range cmds {
		if c.Val() > 0 {
			return true, nil
		}
	}
	return false, nil
}

// reservationPartition is the partition a reservation ID names, checked
// against the store's count.
func (s *Store) reservationPartition(id string) (int, error) {
	p, err := keys.ReservationPartition(id)
	if err == nil && !s.space.Valid(p) {
		err = fmt.Errorf("reservation id %q names partition %d of %d", id, p, s.space.N())
	}
	return p, err
}
