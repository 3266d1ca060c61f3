package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shortstock/shortstock/origin/store"
)

// flushScripts empties the script cache of every node, as a restart
// without the cache or a failover to a fresh replica would.
func flushScripts(t *testing.T, addrs []string, cluster bool) {
	t.Helper()
	ctx := ctxT(t)
	if cluster {
		c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
		defer c.Close()
		if err := c.ForEachShard(ctx, func(ctx context.Context, n *redis.Client) error {
			return n.ScriptFlush(ctx).Err()
		}); err != nil {
			t.Fatal(err)
		}
		return
	}
	c := redis.NewClient(&redis.Options{Addr: addrs[0]})
	defer c.Close()
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
}

// TestScriptsSurviveScriptFlush checks the NOSCRIPT fallback: after SCRIPT
// FLUSH every write still works (EVAL, then EVALSHA again).
func TestScriptsSurviveScriptFlush(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cluster bool
	}{{"standalone", false}, {"cluster", true}} {
		t.Run(tc.name, func(t *testing.T) {
			var addrs []string
			if tc.cluster {
				addrs = env.Cluster(t)
			} else {
				addrs = []string{env.Standalone(t)}
			}
			s := openOn(t, addrs)
			ctx := ctxT(t)
			for round := range 2 {
				flushScripts(t, addrs, tc.cluster)
				code := []string{"flush0", "flush1"}[round]
				if _, err := s.CreateLink(ctx, store.NewLink{Code: code, URL: "https://example.com/", Redirect: 302, CreatedAt: t0}); err != nil {
					t.Fatalf("create after SCRIPT FLUSH: %v", err)
				}
				if err := s.AddClicks(ctx, map[string]int64{code: 2, "other": 1}); err != nil {
					t.Fatalf("clicks after SCRIPT FLUSH: %v", err)
				}
				flushScripts(t, addrs, tc.cluster)
				if _, err := s.SetStock(ctx, "SKU-F", "w", 10); err != nil {
					t.Fatalf("set stock after SCRIPT FLUSH: %v", err)
				}
				flushScripts(t, addrs, tc.cluster)
				r, err := s.Reserve(ctx, store.ReserveRequest{SKU: "SKU-F", Qty: 1, Now: t0, TTL: time.Second})
				if err != nil {
					t.Fatalf("reserve after SCRIPT FLUSH: %v", err)
				}
				flushScripts(t, addrs, tc.cluster)
				if n, err := s.ExpireHolds(ctx, t0.Add(time.Second), 10); err != nil || n != 1 {
					t.Fatalf("expire after SCRIPT FLUSH: %d %v", n, err)
				}
				if got, _ := s.GetReservation(ctx, r.ID); got.Status != store.StatusExpired {
					t.Fatalf("reservation %+v", got)
				}
			}
			if l, err := s.GetLink(ctx, "flush1"); err != nil || l.Clicks != 2 {
				t.Fatalf("link: %+v %v", l, err)
			}
		})
	}
}

// TestClosedStore checks that every call after Close fails with ErrClosed.
func TestClosedStore(t *testing.T) {
	s := openStandalone(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := ctxT(t)
	checks := map[string]error{
		"Ping":      s.Ping(ctx),
		"AddClicks": s.AddClicks(ctx, map[string]int64{"a": 1}),
	}
	_, checks["GetLink"] = s.GetLink(ctx, "a")
	_, checks["SetStock"] = s.SetStock(ctx, "s", "w", 1)
	_, checks["Heads"] = s.Heads(ctx)
	_, checks["ExpireHolds"] = s.ExpireHolds(ctx, t0, 1)
	for name, err := range checks {
		if !isClosed(err) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

func isClosed(err error) bool { return errors.Is(err, store.ErrClosed) }
