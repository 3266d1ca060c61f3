package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/shortstock/shortstock/internal/clock"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// Store is an store.Store on Redis or Redis Cluster. It is safe for
// concurrent use.
type Store struct {
	cfg   Config
	ks    *keyspace
	clock clock.Clock
	// rw takes every write and every read that decides a write; ro takes
	// plain reads and is rw unless reads go to replicas; primary reads
	// from masters only (GetLinkPrimary, GetStockPrimary) and is rw unless
	// rw itself routes reads to replicas (a cluster with ReadOnly).
	rw, ro, primary redis.UniversalClient

	log  *slog.Logger
	wait int // replicas every stock and reservation write waits for; 0: none
	// fencing serializes fence per partition (see fence.go).
	fencing []sync.RWMutex
	fenced  []atomic.Uint64 // fences completed, per partition
	// space is the store's partition count (Config.Partitions, as recorded).
	space keys.Space

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
	expireAt  atomic.Uint32 // rotates ExpireHolds' first partition
	// noParts: the servers refused stock_write_parts or holds_due (a
	// Redis before 7.0 has no script flags); bulk jobs run one script per
	// partition, and the expiry pass one ZCOUNT per partition.
	noParts atomic.Bool
	// touched: when this store last refreshed a running job's stream
	// entry (touchJob), by job ID and owner; unix nanoseconds.
	// touchPruned: when it last forgot old ones.
	touched     sync.Map
	touchPruned atomic.Int64
	// prefetch reads a bulk job's next step while the current one runs.
	prefetch *stepPrefetch
	// legacyDrained: the job ZSET of earlier versions has been moved into
	// the job stream (jobqueue.go); consumersPruned: unix ns of the last
	// prune of the job group's idle consumers.
	legacyDrained   atomic.Bool
	consumersPruned atomic.Int64

	notify tailNotify // ChangeNotify's subscription (changes_notify.go)
}

var (
	_ store.Store         = (*Store)(nil)
	_ store.PrimaryReader = (*Store)(nil)
)

// New validates cfg, connects, and loads the scripts. It fails with an
// error wrapping store.ErrConfig for a bad config, and one wrapping
// store.ErrUnavailable when Redis cannot be reached within ctx; a Store
// that was created recovers by itself from later outages.
func New(ctx context.Context, cfg Config) (*Store, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	sp := keys.MustSpace(cfg.Partitions)
	s := &Store{cfg: cfg, ks: newKeyspace(cfg.KeyPrefix, sp), clock: cfg.Clock, log: cfg.Logger, space: sp,
		fencing: make([]sync.RWMutex, sp.N()), fenced: make([]atomic.Uint64, sp.N()), prefetch: newStepPrefetch()}
	if err := s.connect(); err != nil {
		return nil, err
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.checkServers(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.checkPartitions(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.loadScripts(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// connect builds the clients. go-redis constructors do not dial, but they
// are third-party code: a panic there must become an error, not a crash.
func (s *Store) connect() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: redisstore: creating the client: %v", store.ErrConfig, r)
		}
	}()
	c := s.cfg
	// One description of the connections; Cluster() and Simple() shape it
	// for each client.
	opts := func(addrs []string, readOnly bool) *redis.UniversalOptions {
		return &redis.UniversalOptions{
			Addrs:          addrs,
			Username:       c.Username,
			Password:       c.Password,
			TLSConfig:      c.TLS,
			ReadOnly:       readOnly,
			RouteByLatency: readOnly,
			DialTimeout:    c.DialTimeout,
			ReadTimeout:    c.ReadTimeout,
			WriteTimeout:   c.WriteTimeout,
			PoolSize:       c.PoolSize,
			// A caller's deadline shorter than ReadTimeout wins.
			ContextTimeoutEnabled: true,
			// Reads may be retried once; writes never are (see onceCmd).
			MaxRetries: 1,
			// One dial attempt per call: while a node is down callers
			// get ErrUnavailable at once instead of after retries.
			DialerRetries:            1,
			MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		}
	}
	if c.cluster() {
		s.rw = redis.NewClusterClient(opts(c.Addrs, c.ReadFromReplicas).Cluster())
		s.ro, s.primary = s.rw, s.rw
		if c.ReadFromReplicas {
			s.primary = redis.NewClusterClient(opts(c.Addrs, false).Cluster())
		}
		return nil
	}
	s.rw = redis.NewClient(opts(c.Addrs[:1], false).Simple())
	s.ro, s.primary = s.rw, s.rw
	if c.ReplicaAddr != "" {
		s.ro = redis.NewClient(opts([]string{c.ReplicaAddr}, false).Simple())
	}
	return nil
}

// loadScripts loads every script on every master, so the first calls do
// not each pay a NOSCRIPT round trip. It is an optimisation: run falls back
// to EVAL whenever a node lacks a script.
func (s *Store) loadScripts(ctx context.Context) error {
	load := func(ctx context.Context, c *redis.Client) error {
		pipe := c.Pipeline()
		for _, sc := range allScripts {
			pipe.ScriptLoad(ctx, sc.src)
		}
		_, err := pipe.Exec(ctx)
		// stock_write_parts needs script flags (Redis 7.0): an older
		// server refuses it, and bulk jobs use stock_write_lines.
		for _, sc := range []*script{scriptStockParts, scriptHoldsDue} {
			load := c.ScriptLoad(ctx, sc.src)
			if load.Err() == nil || err != nil {
				continue
			}
			var reply redis.Error
			if !errors.As(load.Err(), &reply) {
				return load.Err()
			}
			s.noParts.Store(true)
		}
		return err
	}
	var err error
	if cc, ok := s.rw.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, load)
	} else {
		err = load(ctx, s.rw.(*redis.Client))
	}
	return s.classify("loading scripts", err)
}

// Ping checks that every master (and the read replica, if any) answers.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return s.classify("ping", redis.ErrClosed)
	}
	var err error
	if cc, ok := s.rw.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			return c.Ping(ctx).Err()
		})
	} else {
		err = s.rw.Ping(ctx).Err()
	}
	if err == nil && s.ro != s.rw {
		err = s.ro.Ping(ctx).Err()
	}
	return s.classify("ping", err)
}

// Close closes the connections. It is idempotent; calls after it fail with
// store.ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.notify.stop()
		s.prefetch.close()
		var errs []error
		if s.rw != nil {
			errs = append(errs, s.rw.Close())
		}
		if s.ro != nil && s.ro != s.rw {
			errs = append(errs, s.ro.Close())
		}
		if s.primary != nil && s.primary != s.rw {
			errs = append(errs, s.primary.Close())
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}
