package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/shortstock/shortstock/origin/store"
)

// errBadReply means a script or command answered something this package
// did not write it to answer: a bug or a foreign key in our keyspace.
var errBadReply = errors.New("redisstore: unexpected reply")

// transientReplies are error replies that mean "this node cannot serve the
// command now" (failover, loading, cluster reconfiguring, persistence or
// memory trouble, a script that runs too long), not "the command is wrong".
var transientReplies = []string{
	"LOADING", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "READONLY", "MOVED",
	"ASK", "NOREPLICAS", "MISCONF", "OOM", "BUSY", "NOAUTH", "WRONGPASS",
	"NOPERM",
}

// classify maps a go-redis error to the origin's sentinels:
//
//   - anything that is not an error reply from Redis (refused or reset
//     connections, timeouts, a closed pool, a cancelled context) and the
//     transient error replies become store.ErrUnavailable. That includes a
//     write whose reply was lost after it was sent: it may or may not have
//     been applied, and the caller cannot tell, so it must treat the outcome
//     as unknown; a retry is safe for Reserve (same ID or idempotency key)
//     and for the idempotent operations (SetStock, Commit, Release, Delete
//     answer with the current state or ErrNotFound);
//   - on a closed Store, store.ErrClosed;
//   - other error replies are bugs and stay plain errors.
//
// Both the sentinel and the cause stay visible to errors.Is.
func (s *Store) classify(op string, err error) error {
	if err == nil {
		return nil
	}
	if s.closed.Load() {
		return fmt.Errorf("%w: redisstore: %s: %w", store.ErrClosed, op, err)
	}
	var reply redis.Error
	if errors.As(err, &reply) && !errors.Is(err, redis.Nil) {
		msg := reply.Error()
		for _, p := range transientReplies {
			if strings.HasPrefix(msg, p) {
				s.refreshTopology()
				return fmt.Errorf("%w: redisstore: %s: %w", store.ErrUnavailable, op, err)
			}
		}
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	s.refreshTopology()
	return fmt.Errorf("%w: redisstore: %s: %w", store.ErrUnavailable, op, err)
}

// refreshTopology asks the cluster client to reload the slot map in the
// background. go-redis does so by itself on MOVED, and after retries it
// makes; writes here are never retried (onceCmd), so without this a client
// would keep dialling a dead master long after a replica took over.
// go-redis coalesces the reloads (one at a time, 200ms apart).
func (s *Store) refreshTopology() {
	if cc, ok := s.rw.(*redis.ClusterClient); ok {
		cc.ReloadState(context.Background())
	}
}

// ErrUnsafeServerConfig: New found a Redis node whose persistence or
// eviction settings cannot keep acknowledged writes (or whose settings it
// could not read), and Config.UnsafeConfig is UnsafeRefuse.
var ErrUnsafeServerConfig = errors.New("redisstore: unsafe Redis settings")
