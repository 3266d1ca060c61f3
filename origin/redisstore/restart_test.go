package redisstore_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/redistest"
	"github.com/shortstock/shortstock/origin/redisstore"
	"github.com/shortstock/shortstock/origin/store"
)

// TestRestartKeepsAcknowledgedWrites kills redis-server with SIGKILL while
// writers run, checks that calls fail fast with ErrUnavailable while it is
// down, restarts it on the same port and directory (AOF, appendfsync
// always), and checks that the same Store recovers and that every
// acknowledged write survived.
func TestRestartKeepsAcknowledgedWrites(t *testing.T) {
	env.Server(t) // skips when Redis is external or missing
	srv, err := redistest.StartServer(redistest.ServerOptions{AppendFsync: "always"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	s := openOn(t, []string{srv.Addr})
	ctx := ctxT(t)

	if _, err := s.CreateLink(ctx, store.NewLink{Code: "keep", URL: "https://example.com/", Redirect: 302, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetStock(ctx, "SKU-R", "w1", 1000); err != nil {
		t.Fatal(err)
	}
	held, err := s.Reserve(ctx, store.ReserveRequest{SKU: "SKU-R", Qty: 2, Now: t0, TTL: time.Hour, IdempotencyKey: "before-crash"})
	if err != nil {
		t.Fatal(err)
	}

	// Writers add 1 to on_hand until told to stop; each counts what was
	// acknowledged and what ended with an unknown outcome.
	var acked, unknown atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_, err := s.AdjustStock(cctx, "SKU-R", "w1", 1)
				cancel()
				switch {
				case err == nil:
					acked.Add(1)
				case errors.Is(err, store.ErrUnavailable):
					unknown.Add(1)
					time.Sleep(5 * time.Millisecond)
				default:
					t.Errorf("adjust: %v", err)
					return
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	ackedAtKill := acked.Load()

	// While down: every kind of call fails fast, with ErrUnavailable.
	for name, call := range map[string]func(context.Context) error{
		"Ping":    s.Ping,
		"GetLink": func(ctx context.Context) error { _, err := s.GetLink(ctx, "keep"); return err },
		"Reserve": func(ctx context.Context) error {
			_, err := s.Reserve(ctx, store.ReserveRequest{SKU: "SKU-R", Qty: 1, Now: t0})
			return err
		},
		"Heads":   func(ctx context.Context) error { _, err := s.Heads(ctx); return err },
		"Changes": func(ctx context.Context) error { _, err := s.Changes(ctx, 0, 0, 10); return err },
	} {
		start := time.Now()
		err := call(context.Background())
		took := time.Since(start)
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s while down: %v, want ErrUnavailable", name, err)
		}
		if took > 1500*time.Millisecond {
			t.Errorf("%s while down took %v, want a quick failure", name, took)
		}
	}
	time.Sleep(300 * time.Millisecond)

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Ping(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatal("store did not recover within 10s of the restart")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // let writers succeed again
	close(stop)
	wg.Wait()

	view, err := s.GetStock(ctx, "SKU-R")
	if err != nil {
		t.Fatal(err)
	}
	added := view.Warehouses["w1"].OnHand - 1000
	t.Logf("acknowledged %d adjusts (%d before the kill), %d unknown outcomes, %d applied", acked.Load(), ackedAtKill, unknown.Load(), added)
	if added < acked.Load() || added > acked.Load()+unknown.Load() {
		t.Fatalf("on_hand grew by %d; acknowledged %d, unknown %d: an acknowledged write was lost or a failed one applied twice", added, acked.Load(), unknown.Load())
	}
	if unknown.Load() == 0 {
		t.Error("no writer saw the outage; the kill did not interrupt anything")
	}
	if l, err := s.GetLink(ctx, "keep"); err != nil || l.Version != 1 {
		t.Fatalf("link after restart: %+v %v", l, err)
	}
	replay, err := s.Reserve(ctx, store.ReserveRequest{SKU: "SKU-R", Qty: 2, Now: t0, TTL: time.Hour, IdempotencyKey: "before-crash"})
	if err != nil || !replay.Replayed || replay.ID != held.ID {
		t.Fatalf("idempotent replay after restart: %+v %v", replay, err)
	}
	// The change log survived and is contiguous: one change per version,
	// except that the restarted server is a new node identity, so the
	// partition moved to a new epoch and its numbers jumped to the epoch's
	// first (fence.go).
	p := keys.DefaultSpace().Partition(keys.KindStock, "SKU-R")
	var last change.Change
	jumps := 0
	for after := uint64(0); ; {
		page, err := s.Changes(ctx, p, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Changes {
			if c.Seq != after+1 {
				if c.Seq < after || c.Seq%(1<<32) != 1 {
					t.Fatalf("change log hole: seq %d after %d", c.Seq, after)
				}
				jumps++
			}
			if c.Key == keys.Key(keys.KindStock, "SKU-R") {
				if c.Version <= last.Version {
					t.Fatalf("SKU version %d after %d", c.Version, last.Version)
				}
				last = c
			}
			after = c.Seq
		}
		if len(page.Changes) == 0 {
			break
		}
	}
	if last.Version != view.Version || jumps != 1 {
		t.Fatalf("last change has version %d, SKU version %d; %d epoch jumps, want 1", last.Version, view.Version, jumps)
	}
}

// TestNewFailsFastWhenUnreachable checks that New on a dead address fails
// quickly with ErrUnavailable instead of hanging or panicking.
func TestNewFailsFastWhenUnreachable(t *testing.T) {
	ports, err := deadAddr()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = redisstore.New(context.Background(), redisstore.DefaultConfig([]string{ports}))
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("New on a dead address: %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("New took %v to fail", took)
	}
}

// TestPausedServerHonoursDeadlines stops redis-server with SIGSTOP (a hung
// server: connections stay open, nothing answers) and checks that calls
// give up at the caller's deadline, or at ReadTimeout without one, with
// ErrUnavailable, and that the store works again once the server resumes.
func TestPausedServerHonoursDeadlines(t *testing.T) {
	env.Server(t)
	srv, err := redistest.StartServer(redistest.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	s := openOn(t, []string{srv.Addr}, func(c *redisstore.Config) { c.ReadTimeout, c.WaitTimeout = 800*time.Millisecond, 400*time.Millisecond })
	ctx := ctxT(t)
	if _, err := s.SetStock(ctx, "SKU-P", "w", 5); err != nil {
		t.Fatal(err)
	}
	if err := srv.Pause(); err != nil {
		t.Fatal(err)
	}
	resumed := false
	t.Cleanup(func() {
		if !resumed {
			srv.Resume()
		}
	})

	short, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	start := time.Now()
	_, err = s.GetStock(short, "SKU-P")
	cancel()
	if took := time.Since(start); !errors.Is(err, store.ErrUnavailable) || took > 600*time.Millisecond {
		t.Fatalf("GetStock with a 150ms deadline on a hung server: %v after %v", err, took)
	}
	start = time.Now()
	_, err = s.Reserve(context.Background(), store.ReserveRequest{SKU: "SKU-P", Qty: 1, Now: t0})
	if took := time.Since(start); !errors.Is(err, store.ErrUnavailable) || took > 2*time.Second {
		t.Fatalf("Reserve without a deadline on a hung server: %v after %v (ReadTimeout 800ms)", err, took)
	}

	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	resumed = true
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, err := s.GetStock(ctx, "SKU-P")
		if err == nil {
			// The Reserve above timed out after it was sent: it may or may
			// not have been applied, and either is a correct outcome.
			if r := v.Warehouses["w"].Reserved; r > 1 {
				t.Fatalf("reserved %d after one unknown-outcome Reserve", r)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("store did not recover after SIGCONT: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
