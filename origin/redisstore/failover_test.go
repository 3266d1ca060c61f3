package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/redistest"
	"github.com/shortstock/shortstock/origin/redisstore"
	"github.com/shortstock/shortstock/origin/store"
)

// TestClusterFailover kills one master of a dedicated cluster with SIGKILL
// and checks that its partitions fail fast with ErrUnavailable while the
// others keep working, and that once a replica has taken over the same
// Store serves those partitions again, with every replicated write intact
// and the scripts running on the promoted replica.
func TestClusterFailover(t *testing.T) {
	env.ClusterProcs(t) // skips when the cluster is external or missing
	c, err := redistest.StartCluster(redistest.ClusterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	s := openOn(t, c.Addrs, func(cfg *redisstore.Config) { cfg.ReadTimeout, cfg.WaitTimeout = 2*time.Second, time.Second })
	ctx := ctxT(t)

	skus := make([]string, 24)
	for i := range skus {
		skus[i] = fmt.Sprintf("FO-%d", i)
		if _, err := s.SetStock(ctx, skus[i], "w", 10); err != nil {
			t.Fatal(err)
		}
	}
	// Find the master of skus[0]'s partition, and make sure every master's
	// replica holds the writes (replication is asynchronous).
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	defer cc.Close()
	p := keys.DefaultSpace().Partition(keys.KindStock, skus[0])
	victim, err := cc.MasterForKey(ctx, fmt.Sprintf("x:{p%d}:y", p))
	if err != nil {
		t.Fatal(err)
	}
	victimAddr := victim.Options().Addr
	if err := cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		n, err := m.Wait(ctx, 1, 2*time.Second).Result()
		if err == nil && n < 1 {
			err = fmt.Errorf("%s: no replica acknowledged", m.Options().Addr)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var killed *redistest.Server
	for _, n := range c.Nodes {
		if n.Addr == victimAddr {
			killed = n
		}
	}
	if killed == nil {
		t.Fatalf("master %s is not one of %v", victimAddr, c.Addrs)
	}
	if err := killed.Kill(); err != nil {
		t.Fatal(err)
	}

	// Until the failover, the dead master's partitions are unavailable, and
	// say so quickly.
	start := time.Now()
	_, err = s.AdjustStock(context.Background(), skus[0], "w", 1)
	if took := time.Since(start); !errors.Is(err, store.ErrUnavailable) || took > 2*time.Second {
		t.Fatalf("write to the dead master's partition: %v after %v", err, took)
	}

	// The failover: wait until a write to that partition succeeds again.
	// The promoted replica has no replica of its own, so a reservation on
	// it is applied but not confirmed (ErrOutcomeUnknown) until the old
	// master is back as its replica; the client retries with one
	// idempotency key, so the retries hold stock once.
	deadline := time.Now().Add(45 * time.Second)
	var reserved store.Reservation
	restarted := false
	for {
		actx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		reserved, err = s.Reserve(actx, store.ReserveRequest{SKU: skus[0], Qty: 3, Now: t0, IdempotencyKey: "failover-hold"})
		cancel()
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("reserve during failover: %v", err)
		}
		if errors.Is(err, store.ErrOutcomeUnknown) && !restarted {
			if err := killed.Restart(); err != nil {
				t.Fatal(err)
			}
			restarted = true
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failover within 45s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !restarted {
		t.Error("a reservation on a master without a replica was acknowledged: it did not wait for a replica")
	}
	t.Logf("partition %d writable again %v after the kill", p, time.Since(start).Round(10*time.Millisecond))

	for _, sku := range skus {
		v, err := s.GetStock(ctx, sku)
		if err != nil {
			t.Fatalf("GetStock(%s) after failover: %v", sku, err)
		}
		want := int64(10)
		if sku == skus[0] {
			want = 7 // the reservation after the failover
		}
		if v.Available != want {
			t.Fatalf("%s after failover: %+v, want %d available", sku, v, want)
		}
	}
	if _, err := s.CommitReservation(ctx, reserved.ID, t0.Add(time.Second)); err != nil {
		t.Fatalf("commit after failover: %v", err)
	}
	if _, err := s.Heads(ctx); err != nil {
		t.Fatalf("Heads after failover: %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after failover: %v", err)
	}
}
