package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/redisstore"
	"github.com/shortstock/shortstock/origin/store"
)

// The partition count is recorded in <prefix>:meta when a store is created
// and checked by every later New; data from before the count was recorded
// is read as 64 partitions.
func TestPartitionCountRecordedAndChecked(t *testing.T) {
	addr := env.Standalone(t)
	var prefix string
	s := openStandalone(t, func(c *redisstore.Config) { c.Partitions, prefix = 256, c.KeyPrefix })
	if s.Partitions().N() != 256 {
		t.Fatalf("Partitions() = %d, want 256", s.Partitions().N())
	}
	open := func(n int) (*redisstore.Store, error) {
		cfg := redisstore.DefaultConfig([]string{addr})
		cfg.KeyPrefix, cfg.Partitions = prefix, n
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return redisstore.New(ctx, cfg)
	}
	_, err := open(1024)
	var pm *store.PartitionMismatchError
	if !errors.Is(err, store.ErrPartitionMismatch) || !errors.As(err, &pm) || pm.Stored != 256 || pm.Configured != 1024 {
		t.Fatalf("New with another count: %v; want a mismatch naming 256 and %d", err, 1024)
	}
	again, err := open(256)
	if err != nil {
		t.Fatalf("New with the recorded count: %v", err)
	}
	again.Close()

	// A legacy keyspace: a partition's change counter but no meta hash.
	prefix += "-legacy"
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	if err := c.Set(t.Context(), prefix+":{p17}:seq", 3, 0).Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Del(context.Background(), prefix+":{p17}:seq", prefix+":meta") })
	if _, err := open(1024); !errors.As(err, &pm) || pm.Stored != keys.LegacyPartitions {
		t.Fatalf("New on legacy data at 1024: %v; want a mismatch naming 64", err)
	}
	old, err := open(keys.LegacyPartitions)
	if err != nil {
		t.Fatalf("New on legacy data at 64: %v", err)
	}
	old.Close()
	if v := c.HGet(t.Context(), prefix+":meta", "partitions").Val(); v != "64" {
		t.Fatalf("legacy store recorded %q, want 64", v)
	}
}
