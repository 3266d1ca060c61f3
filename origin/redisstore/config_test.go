package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin/redisstore"
	"github.com/shortstock/shortstock/origin/store"
)

func TestNewRefusesBadConfig(t *testing.T) {
	ok := []string{"127.0.0.1:1"}
	for name, mutate := range map[string]func(*redisstore.Config){
		"no addrs":            func(c *redisstore.Config) { c.Addrs = nil },
		"addr without port":   func(c *redisstore.Config) { c.Addrs = []string{"localhost"} },
		"negative timeout":    func(c *redisstore.Config) { c.ReadTimeout = -time.Second },
		"negative pool":       func(c *redisstore.Config) { c.PoolSize = -1 },
		"tiny stream":         func(c *redisstore.Config) { c.ChangeStreamMaxLen = 5 },
		"brace in prefix":     func(c *redisstore.Config) { c.KeyPrefix = "a{b}" },
		"space in prefix":     func(c *redisstore.Config) { c.KeyPrefix = "a b" },
		"retention below ttl": func(c *redisstore.Config) { c.IdempotencyTTL = 48 * time.Hour; c.ReservationRetention = time.Hour },
		"replica without flag": func(c *redisstore.Config) {
			c.ReplicaAddr = "127.0.0.1:2"
		},
		"replicas standalone without addr": func(c *redisstore.Config) { c.ReadFromReplicas = true },
		"negative wait":                    func(c *redisstore.Config) { c.WaitReplicas = -1 },
		"wait timeout past read timeout":   func(c *redisstore.Config) { c.WaitTimeout = c.ReadTimeout },
		"sub-millisecond wait timeout":     func(c *redisstore.Config) { c.WaitTimeout = time.Microsecond },
		"unknown unsafe config policy":     func(c *redisstore.Config) { c.UnsafeConfig = "ignore" },
		"replica addr with cluster": func(c *redisstore.Config) {
			c.Addrs = []string{"127.0.0.1:1", "127.0.0.1:2"}
			c.ReadFromReplicas = true
			c.ReplicaAddr = "127.0.0.1:3"
		},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := redisstore.DefaultConfig(ok)
			mutate(&cfg)
			s, err := redisstore.New(context.Background(), cfg)
			if !errors.Is(err, store.ErrConfig) {
				t.Fatalf("New: %v, want ErrConfig", err)
			}
			if s != nil {
				t.Fatal("New returned a store with an error")
			}
		})
	}
}

func TestZeroConfigFieldsTakeDefaults(t *testing.T) {
	addr := env.Standalone(t)
	s, err := redisstore.New(ctxT(t), redisstore.Config{Addrs: []string{addr}, KeyPrefix: uniquePrefix()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

func TestForceClusterWithOneSeed(t *testing.T) {
	seeds := env.Cluster(t)
	s := openOn(t, seeds[:1], func(c *redisstore.Config) { c.ForceCluster = true })
	ctx := ctxT(t)
	// Stock in many partitions lands on all three masters.
	for _, sku := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		if _, err := s.SetStock(ctx, sku, "w", 1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Heads(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestReadFromReplicasCluster(t *testing.T) {
	s := openCluster(t, func(c *redisstore.Config) { c.ReadFromReplicas = true })
	ctx := ctxT(t)
	if _, err := s.SetStock(ctx, "SKU-RO", "w", 3); err != nil {
		t.Fatal(err)
	}
	// Replica reads may lag; they must converge and never error.
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, err := s.GetStock(ctx, "SKU-RO")
		if err == nil && v.Available == 3 {
			break
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica read never saw the write: %+v %v", v, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := s.Heads(ctx); err != nil {
		t.Fatal(err)
	}
}
