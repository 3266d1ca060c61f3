package redisstore_test

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shortstock/shortstock/internal/redistest"
	"github.com/shortstock/shortstock/internal/testutil"
	"github.com/shortstock/shortstock/origin/redisstore"
)

// env is the Redis this package's tests run against: a standalone server
// and a 3-master cluster with a replica each, started once.
var env *redistest.Env

func TestMain(m *testing.M) {
	// go-redis logs every failed dial; the outage tests cause many on
	// purpose.
	redis.SetLogger(quietLogger{})
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		// Fuzz targets here need no Redis, and every fuzz worker process
		// would start its own servers.
		os.Exit(m.Run())
	}
	env = redistest.Start(redistest.Options{Standalone: true, Cluster: true})
	// Every goroutine a Store starts (go-redis pools included) is stopped
	// by its Close: goleak checks after the Redis servers are gone.
	testutil.VerifyNoLeaks(m, func() {
		if err := env.Stop(); err != nil {
			log.Printf("stopping redis: %v", err)
		}
	})
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

var prefixSeq atomic.Int64

// uniquePrefix gives every opened store its own keyspace, so tests need no
// FLUSHALL and can share servers (also external ones).
func uniquePrefix() string {
	return fmt.Sprintf("t%d-%d", time.Now().UnixNano()%1e9, prefixSeq.Add(1))
}

// openOn opens a store on addrs with a fresh keyspace; it is closed when
// t ends.
func openOn(t testing.TB, addrs []string, mutate ...func(*redisstore.Config)) *redisstore.Store {
	t.Helper()
	cfg := redisstore.DefaultConfig(addrs)
	cfg.KeyPrefix = uniquePrefix()
	// The test machine is shared and runs -race: a 1s ReadTimeout (the
	// product default) turns a CPU or fsync stall into a flaky failure.
	// Tests about timeouts set their own.
	cfg.ReadTimeout, cfg.WriteTimeout = 5*time.Second, 5*time.Second
	// Likewise a replica's acknowledgement of a WAIT (cluster writes wait
	// for one) can take over the 500ms default while the machine is busy.
	cfg.WaitTimeout = 3 * time.Second
	for _, m := range mutate {
		m(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := redisstore.New(ctx, cfg)
	if err != nil {
		t.Fatalf("redisstore.New(%v): %v", addrs, err)
	}
	t.Cleanup(func() {
		s.Close()
		dropPrefix(addrs, cfg.ForceCluster || len(addrs) > 1, cfg.KeyPrefix)
	})
	return s
}

// dropPrefix deletes a test's keys, best effort, so a run against external
// servers (SHORTSTOCK_TEST_REDIS...) leaves nothing behind.
func dropPrefix(addrs []string, cluster bool, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	drop := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, prefix+":*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Unlink(ctx, iter.Val())
		}
		return iter.Err()
	}
	if cluster {
		c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, MaxRetries: -1})
		defer c.Close()
		_ = c.ForEachMaster(ctx, drop)
		return
	}
	c := redis.NewClient(&redis.Options{Addr: addrs[0], MaxRetries: -1})
	defer c.Close()
	_ = drop(ctx, c)
}

func openStandalone(t testing.TB, mutate ...func(*redisstore.Config)) *redisstore.Store {
	t.Helper()
	return openOn(t, []string{env.Standalone(t)}, mutate...)
}

func openCluster(t testing.TB, mutate ...func(*redisstore.Config)) *redisstore.Store {
	t.Helper()
	return openOn(t, env.Cluster(t), mutate...)
}

// backends runs f against standalone Redis and against the cluster.
func backends(t *testing.T, f func(t *testing.T, open func(t testing.TB) *redisstore.Store)) {
	t.Run("standalone", func(t *testing.T) {
		f(t, func(t testing.TB) *redisstore.Store { return openStandalone(t) })
	})
	t.Run("cluster", func(t *testing.T) {
		f(t, func(t testing.TB) *redisstore.Store { return openCluster(t) })
	})
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
