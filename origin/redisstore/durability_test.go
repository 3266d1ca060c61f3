package redisstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/redistest"
	"github.com/shortstock/shortstock/origin/redisstore"
	"github.com/shortstock/shortstock/origin/store"
)

// failoverPair is a standalone primary with one replica, reached through a
// proxy that a test moves to the replica when it promotes it (the virtual
// IP of a failover manager), so one Store lives through the failover.
type failoverPair struct {
	primary, replica *redistest.Server
	proxy            *redistest.Proxy
}

func startFailoverPair(t *testing.T) *failoverPair {
	t.Helper()
	if _, err := redistest.FindBinaries(); err != nil {
		if redistest.InCI() {
			t.Fatalf("redis-server: %v", err)
		}
		t.Skipf("redis-server unavailable: %v", err)
	}
	p, r, err := redistest.StartPrimaryReplica(redistest.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop(); _ = r.Stop() })
	px, err := redistest.StartProxy(p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = px.Close() })
	return &failoverPair{primary: p, replica: r, proxy: px}
}

// cutReplica detaches the replica from the primary (it follows a dead
// address, keeping its data): what the primary applies from now on never
// reaches it, as with a replica lagging behind when its master dies.
func (f *failoverPair) cutReplica(t *testing.T) {
	t.Helper()
	dead, err := deadAddr()
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(dead, ":")
	if _, err := redistest.Do(f.replica.Addr, 2*time.Second, "REPLICAOF", host, port); err != nil {
		t.Fatal(err)
	}
}

// failover kills the primary (SIGKILL), promotes the replica and moves
// the proxy to it.
func (f *failoverPair) failover(t *testing.T) {
	t.Helper()
	if err := f.primary.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := redistest.Promote(f.replica); err != nil {
		t.Fatal(err)
	}
	f.proxy.Switch(f.replica.Addr)
}

// retry runs op until it stops failing with ErrUnavailable (the store
// notices the broken connections), for at most 10 s.
func retry[T any](t *testing.T, what string, op func(ctx context.Context) (T, error)) (T, error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		v, err := op(ctx)
		cancel()
		if err == nil || !errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrOutcomeUnknown) || time.Now().After(deadline) {
			return v, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Guarantee 2 across a lossy failover: a write the master acknowledged
// (and an edge may have seen) but never replicated is lost when a replica
// takes over; the next write must still get a version, and a change seq,
// above the lost ones, or edges that saw the lost version ignore it (ABA).
// Breaking the epoch (EPOCH_SPAN = 0 in lua/common.lua) fails this test:
// the link's version after the failover repeats the lost one.
func TestLossyFailoverVersionsOnlyGrow(t *testing.T) {
	f := startFailoverPair(t)
	s := openOn(t, []string{f.proxy.Addr}, func(c *redisstore.Config) { c.WaitTimeout = time.Second })
	ctx := ctxT(t)
	if _, err := s.CreateLink(ctx, store.NewLink{Code: "aba", URL: "https://example.com/1", Redirect: 302, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetStock(ctx, "ABA", "w", 10); err != nil { // its WAIT covers the link too
		t.Fatal(err)
	}

	// What follows lives on the primary only.
	f.cutReplica(t)
	u2 := "https://example.com/2-lost"
	lost, err := s.UpdateLink(ctx, "aba", store.LinkPatch{URL: &u2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AdjustStock(ctx, "ABA", "w", 5); !errors.Is(err, store.ErrOutcomeUnknown) {
		t.Fatalf("stock write no replica acknowledged: %v, want ErrOutcomeUnknown", err)
	}
	lostStock, err := s.GetStockPrimary(ctx, "ABA")
	if err != nil {
		t.Fatal(err)
	}
	lostHeads, err := s.Heads(ctx)
	if err != nil {
		t.Fatal(err)
	}

	f.failover(t)

	u3 := "https://example.com/3-after"
	after, err := retry(t, "update after failover", func(ctx context.Context) (store.Link, error) {
		return s.UpdateLink(ctx, "aba", store.LinkPatch{URL: &u3})
	})
	if err != nil {
		t.Fatalf("update after failover: %v", err)
	}
	if after.Version <= lost.Version {
		t.Fatalf("link version %d after the failover, but the lost write had version %d: an edge that saw it ignores this write", after.Version, lost.Version)
	}
	// The promoted replica has no replica of its own: the stock write is
	// applied but unconfirmed, which is all this part needs.
	if _, err := retry(t, "adjust after failover", func(ctx context.Context) (store.StockView, error) {
		return s.AdjustStock(ctx, "ABA", "w", 1)
	}); err != nil && !errors.Is(err, store.ErrOutcomeUnknown) {
		t.Fatalf("adjust after failover: %v", err)
	}
	afterStock, err := s.GetStockPrimary(ctx, "ABA")
	if err != nil {
		t.Fatal(err)
	}
	if afterStock.Version <= lostStock.Version || afterStock.Warehouses["w"].OnHand != 11 {
		t.Fatalf("stock after the failover %+v, lost write had version %d", afterStock, lostStock.Version)
	}
	heads, err := s.Heads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{keys.Key(keys.KindLink, "aba"), keys.Key(keys.KindStock, "ABA")} {
		p := keys.PartitionOfKey(k)
		if heads[p] <= lostHeads[p] {
			t.Fatalf("partition %d head %d after the failover, the lost writes reached %d", p, heads[p], lostHeads[p])
		}
		page, err := s.Changes(ctx, p, lostHeads[p], 100)
		if err != nil || len(page.Changes) == 0 || page.Changes[0].Seq <= lostHeads[p] {
			t.Fatalf("changes after the lost head %d: %+v %v", lostHeads[p], page, err)
		}
	}
	got, err := s.GetLink(ctx, "aba")
	if err != nil || got.URL != u3 || got.Version != after.Version {
		t.Fatalf("link after failover: %+v %v", got, err)
	}
	t.Logf("lost link version %d, next %d; lost stock version %d, next %d", lost.Version, after.Version, lostStock.Version, afterStock.Version)
}

// Acknowledged means durable: with a replica, a reservation is answered
// only once the replica holds it, so killing the primary right after the
// answer and promoting the replica keeps it; one the replica could not
// confirm answers ErrOutcomeUnknown, and retrying it with its idempotency
// key on the new primary holds the stock once. The test itself never
// issues WAIT. Removing the product's WAIT (runDurable calling run) fails
// it: the reservation made after the replica was cut off is acknowledged,
// then lost.
func TestAcknowledgedReservationSurvivesFailover(t *testing.T) {
	f := startFailoverPair(t)
	s := openOn(t, []string{f.proxy.Addr}, func(c *redisstore.Config) { c.WaitTimeout = time.Second })
	ctx := ctxT(t)
	if _, err := s.SetStock(ctx, "DUR", "w", 10); err != nil {
		t.Fatal(err)
	}
	acked, err := s.Reserve(ctx, store.ReserveRequest{SKU: "DUR", Qty: 2, TTL: time.Hour, IdempotencyKey: "acked"})
	if err != nil {
		t.Fatalf("reserve with a live replica: %v", err)
	}

	f.cutReplica(t)
	unconfirmed, err := s.Reserve(ctx, store.ReserveRequest{SKU: "DUR", Qty: 3, TTL: time.Hour, IdempotencyKey: "unconfirmed"})
	answered := err == nil
	if answered {
		t.Errorf("a reservation no replica holds was acknowledged (%s)", unconfirmed.ID)
	} else if !errors.Is(err, store.ErrOutcomeUnknown) {
		t.Fatalf("reserve with the replica paused: %v, want ErrOutcomeUnknown", err)
	}

	f.failover(t)

	got, err := retry(t, "read the acknowledged reservation", func(ctx context.Context) (store.Reservation, error) {
		return s.GetReservation(ctx, acked.ID)
	})
	if err != nil || got.Status != store.StatusHeld || got.Qty != 2 {
		t.Fatalf("acknowledged reservation after the failover: %+v %v", got, err)
	}
	if answered {
		if _, err := s.GetReservation(ctx, unconfirmed.ID); err != nil {
			t.Fatalf("acknowledged reservation %s lost in the failover: %v", unconfirmed.ID, err)
		}
	}

	// The old primary comes back as the new one's replica; the client
	// retries the unknown outcome with its key.
	if err := f.primary.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := redistest.Do(f.primary.Addr, 2*time.Second, "REPLICAOF", "127.0.0.1", itoa(f.replica.Port)); err != nil {
		t.Fatal(err)
	}
	if err := redistest.WaitReplicaUp(f.primary, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	var again store.Reservation
	deadline := time.Now().Add(10 * time.Second)
	for {
		again, err = s.Reserve(ctx, store.ReserveRequest{SKU: "DUR", Qty: 3, TTL: time.Hour, IdempotencyKey: "unconfirmed"})
		if err == nil || !errors.Is(err, store.ErrUnavailable) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("retrying the unknown outcome: %v", err)
	}
	v, err := s.GetStockPrimary(ctx, "DUR")
	if err != nil {
		t.Fatal(err)
	}
	if w := v.Warehouses["w"]; w.Reserved != 5 || w.OnHand != 10 {
		t.Fatalf("after the retry %+v (reservation %+v): want 5 reserved (2 + 3 once)", w, again)
	}
}

// New reads appendonly, appendfsync and maxmemory-policy of every node
// and refuses settings that cannot keep an acknowledged write, unless told
// to warn. Removing the check (checkServers returning nil) fails the
// refuse cases.
func TestUnsafeServerConfig(t *testing.T) {
	if _, err := redistest.FindBinaries(); err != nil {
		if redistest.InCI() {
			t.Fatalf("redis-server: %v", err)
		}
		t.Skipf("redis-server unavailable: %v", err)
	}
	cases := []struct {
		name  string
		extra []string
		want  []string // in the error
	}{
		{"no aof and evicting", []string{"appendonly no", "maxmemory-policy allkeys-lru"}, []string{"appendonly", "maxmemory-policy", "allkeys-lru"}},
		{"everysec without replicas", []string{"appendfsync everysec"}, []string{"appendfsync everysec without replicas"}},
		{"volatile eviction", []string{"maxmemory-policy volatile-ttl"}, []string{"volatile-ttl"}},
	}
	// A managed Redis that forbids CONFIG: an ACL user without it.
	cases = append(cases, struct {
		name  string
		extra []string
		want  []string
	}{"config forbidden", nil, []string{"forbid CONFIG", "NOPERM"}})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := redistest.StartServer(redistest.ServerOptions{Extra: tc.extra})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = srv.Stop() })
			cfg := redisstore.DefaultConfig([]string{srv.Addr})
			if tc.extra == nil {
				if _, err := redistest.Do(srv.Addr, 2*time.Second, "ACL", "SETUSER", "app", "on", ">app-password", "~*", "&*", "+@all", "-config"); err != nil {
					t.Fatal(err)
				}
				cfg.Username, cfg.Password = "app", "app-password"
			}
			logs := &logBuffer{}
			cfg.Logger = logs.logger()
			_, err = redisstore.New(context.Background(), cfg)
			if !errors.Is(err, redisstore.ErrUnsafeServerConfig) {
				t.Fatalf("New: %v, want ErrUnsafeServerConfig", err)
			}
			for _, w := range tc.want {
				if !contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			cfg.UnsafeConfig = redisstore.UnsafeWarn
			s, err := redisstore.New(context.Background(), cfg)
			if err != nil {
				t.Fatalf("New with UnsafeConfig warn: %v", err)
			}
			s.Close()
			if !contains(logs.String(), "cannot keep acknowledged writes") || !contains(logs.String(), tc.want[0]) {
				t.Errorf("no warning logged: %s", logs)
			}
		})
	}
	t.Run("everysec with a replica", func(t *testing.T) {
		p, r, err := redistest.StartPrimaryReplica(redistest.ServerOptions{AppendFsync: "everysec"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Stop(); _ = r.Stop() })
		s, err := redisstore.New(context.Background(), redisstore.DefaultConfig([]string{p.Addr}))
		if err != nil {
			t.Fatalf("everysec with writes waiting for a replica: %v", err)
		}
		s.Close()
	})
}
