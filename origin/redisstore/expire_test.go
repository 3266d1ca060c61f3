package redisstore_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/redistest"
	"github.com/shortstock/shortstock/origin/redisstore"
	"github.com/shortstock/shortstock/origin/store"
)

// TestExpireHoldsConcurrentStores runs ExpireHolds from 4 Store instances
// (4 origins) on one keyspace at once, in small batches, and checks that
// every hold was expired exactly once: the counts add up, every hold
// released its stock once, and the change log has one change per expiry.
func TestExpireHoldsConcurrentStores(t *testing.T) {
	for _, tc := range []struct {
		name  string
		addrs func(t *testing.T) []string
	}{
		{"standalone", func(t *testing.T) []string { return []string{env.Standalone(t)} }},
		{"cluster", func(t *testing.T) []string { return env.Cluster(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addrs := tc.addrs(t)
			prefix := uniquePrefix()
			same := func(c *redisstore.Config) { c.KeyPrefix = prefix }
			stores := make([]*redisstore.Store, 4)
			for i := range stores {
				stores[i] = openOn(t, addrs, same)
			}
			ctx := ctxT(t)
			const skus, perSKU = 40, 10
			holds := map[string]bool{}
			for i := range skus {
				sku := fmt.Sprintf("SKU-%d", i)
				if _, err := stores[0].SetStock(ctx, sku, "w", perSKU); err != nil {
					t.Fatal(err)
				}
				for j := range perSKU {
					r, err := stores[j%4].Reserve(ctx, store.ReserveRequest{SKU: sku, Qty: 1, Now: t0, TTL: time.Duration(1+j) * time.Millisecond})
					if err != nil {
						t.Fatal(err)
					}
					holds[r.ID] = true
				}
			}
			heads0, err := stores[0].Heads(ctx)
			if err != nil {
				t.Fatal(err)
			}

			now := t0.Add(time.Second)
			counts := make([]int, len(stores))
			var wg sync.WaitGroup
			for i, s := range stores {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						n, err := s.ExpireHolds(ctx, now, 7)
						if err != nil {
							t.Errorf("store %d: %v", i, err)
							return
						}
						counts[i] += n
						if n == 0 {
							return
						}
					}
				}()
			}
			wg.Wait()
			total := 0
			for _, n := range counts {
				total += n
			}
			t.Logf("expired per store: %v", counts)
			if total != len(holds) {
				t.Fatalf("expired %d holds in total, want %d", total, len(holds))
			}
			for id := range holds {
				r, err := stores[1].GetReservation(ctx, id)
				if err != nil || r.Status != store.StatusExpired {
					t.Fatalf("%s: %+v %v", id, r, err)
				}
			}
			for i := range skus {
				v, err := stores[2].GetStock(ctx, fmt.Sprintf("SKU-%d", i))
				if err != nil || v.Available != perSKU || v.Warehouses["w"].Reserved != 0 {
					t.Fatalf("stock %d: %+v %v", i, v, err)
				}
			}
			heads1, err := stores[3].Heads(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var appended uint64
			for p := range keys.DefaultPartitions {
				appended += heads1[p] - heads0[p]
			}
			if appended != uint64(len(holds)) {
				t.Fatalf("%d changes appended for %d expiries", appended, len(holds))
			}
			if n, err := stores[0].ExpireHolds(ctx, now.Add(time.Hour), 1000); err != nil || n != 0 {
				t.Fatalf("expire again: %d %v", n, err)
			}
		})
	}
}

// TestChangesAfterTrim fills one partition's stream past
// ChangeStreamMaxLen and checks that First moves up, that pages after First
// are exact and contiguous, and that Head is the newest seq.
func TestChangesAfterTrim(t *testing.T) {
	backendsCfg(t, func(c *redisstore.Config) { c.ChangeStreamMaxLen = 100 }, func(t *testing.T, s *redisstore.Store) {
		ctx := ctxT(t)
		const writes = 1000
		for i := range writes {
			if _, err := s.SetStock(ctx, "SKU-T", "w", int64(i)); err != nil {
				t.Fatal(err)
			}
		}
		p := keys.DefaultSpace().Partition(keys.KindStock, "SKU-T")
		page, err := s.Changes(ctx, p, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if page.Head != writes || page.First <= 1 || page.First > writes-99 {
			t.Fatalf("head %d first %d after %d writes with MAXLEN ~100", page.Head, page.First, writes)
		}
		if len(page.Changes) == 0 || page.Changes[0].Seq != page.First {
			t.Fatalf("first page starts at %v, First %d", page.Changes, page.First)
		}
		after := page.First - 1
		for {
			pg, err := s.Changes(ctx, p, after, 37)
			if err != nil {
				t.Fatal(err)
			}
			if len(pg.Changes) == 0 {
				break
			}
			for _, c := range pg.Changes {
				if c.Seq != after+1 || c.Version != c.Seq || c.Key != "s:SKU-T" || c.Partition != p {
					t.Fatalf("change %+v after %d", c, after)
				}
				after = c.Seq
			}
		}
		if after != writes {
			t.Fatalf("read up to %d, want %d", after, writes)
		}
		empty, err := s.Changes(ctx, (p+1)%keys.DefaultPartitions, 0, 10)
		if err != nil || empty.Head != 0 || empty.First != 0 || len(empty.Changes) != 0 {
			t.Fatalf("untouched partition: %+v %v", empty, err)
		}
	})
}

// A bulk job's lines append their changes untrimmed (in runs of up to 256
// per log entry) and each call trims the partition's log once at its end,
// by seq: it keeps at least the last cap changes (and at most a run's 255
// more), as synchronous writes keep about cap entries.
func TestChangesAfterTrimByBulkLines(t *testing.T) {
	// 300: more than one run of a bulk call's changes (256, see run_add
	// in lua/common.lua), so keeping too few shows.
	backendsCfg(t, func(c *redisstore.Config) { c.ChangeStreamMaxLen = 300 }, func(t *testing.T, s *redisstore.Store) {
		ctx := ctxT(t)
		const lines = 1000
		if j := runNewJob(t, s, smallJob("trim", "SKU-TB", lines)); j.Applied != lines {
			t.Fatalf("job %+v", j)
		}
		p := keys.DefaultSpace().Partition(keys.KindStock, "SKU-TB")
		page, err := s.Changes(ctx, p, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if page.Head != lines || page.First <= 1 || page.First > lines-299 {
			t.Fatalf("head %d first %d after %d bulk lines with a cap of 300", page.Head, page.First, lines)
		}
	})
}

// backendsCfg runs f on a store with mutate applied, standalone and
// cluster.
func backendsCfg(t *testing.T, mutate func(*redisstore.Config), f func(t *testing.T, s *redisstore.Store)) {
	t.Run("standalone", func(t *testing.T) { f(t, openStandalone(t, mutate)) })
	t.Run("cluster", func(t *testing.T) { f(t, openCluster(t, mutate)) })
}

// TestLogSurvivesLostSeqKey deletes a partition's seq key (as an evicting
// Redis might) and checks that writes go on and the log stays ordered,
// continuing after its last entry.
func TestLogSurvivesLostSeqKey(t *testing.T) {
	addr := env.Standalone(t)
	prefix := uniquePrefix()
	s := openOn(t, []string{addr}, func(c *redisstore.Config) { c.KeyPrefix = prefix })
	ctx := ctxT(t)
	for i := range 5 {
		if _, err := s.SetStock(ctx, "SKU-L", "w", int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	p := keys.DefaultSpace().Partition(keys.KindStock, "SKU-L")
	if _, err := redistest.Do(addr, time.Second, "DEL", fmt.Sprintf("%s:{p%d}:seq", prefix, p)); err != nil {
		t.Fatal(err)
	}
	v, err := s.SetStock(ctx, "SKU-L", "w", 9)
	if err != nil {
		t.Fatalf("write after the seq key was lost: %v", err)
	}
	page, err := s.Changes(ctx, p, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if page.Head != 6 || len(page.Changes) != 6 || page.Changes[5].Seq != 6 || page.Changes[5].Version != v.Version {
		t.Fatalf("after losing the seq key: %+v", page)
	}
}
