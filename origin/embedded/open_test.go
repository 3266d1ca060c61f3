package embedded_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/origin/store"
)

func TestOpenRefusesBadConfig(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name   string
		mutate func(*embedded.Config)
		want   string
	}{
		{"no dir", func(c *embedded.Config) { c.Dir = "" }, "Dir is required"},
		{"negative batch", func(c *embedded.Config) { c.MaxBatchSize = -1 }, "MaxBatchSize"},
		{"negative delay", func(c *embedded.Config) { c.MaxBatchDelay = -time.Millisecond }, "MaxBatchDelay"},
		{"huge delay", func(c *embedded.Config) { c.MaxBatchDelay = time.Minute }, "MaxBatchDelay"},
		{"negative log length", func(c *embedded.Config) { c.ChangeLogMaxLen = -5 }, "ChangeLogMaxLen"},
		{"tiny log age", func(c *embedded.Config) { c.ChangeLogMaxAge = time.Millisecond }, "ChangeLogMaxAge"},
		{"negative ttl", func(c *embedded.Config) { c.IdempotencyTTL = -time.Hour }, "IdempotencyTTL"},
		{"retention below ttl", func(c *embedded.Config) { c.IdempotencyTTL = 48 * time.Hour; c.ReservationRetention = time.Hour }, "ReservationRetention"},
		{"negative interval", func(c *embedded.Config) { c.MaintenanceInterval = -1 }, "MaintenanceInterval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := embedded.DefaultConfig(dir)
			tc.mutate(&cfg)
			s, err := embedded.Open(cfg)
			if err == nil {
				s.Close()
				t.Fatal("Open accepted the config")
			}
			if !errors.Is(err, store.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want store.ErrConfig naming %s", err, tc.want)
			}
		})
	}
}

func TestOpenFillsDefaults(t *testing.T) {
	s := open(t, embedded.Config{Dir: filepath.Join(t.TempDir(), "nested", "dir")})
	got := s.Config()
	want := embedded.DefaultConfig(got.Dir)
	if got.MaxBatchSize != want.MaxBatchSize || got.MaxBatchDelay != want.MaxBatchDelay || got.NoSync ||
		got.ChangeLogMaxLen != want.ChangeLogMaxLen || got.ChangeLogMaxAge != want.ChangeLogMaxAge ||
		got.IdempotencyTTL != want.IdempotencyTTL || got.ReservationRetention != want.ReservationRetention ||
		got.MaintenanceInterval != want.MaintenanceInterval || got.LockTimeout != want.LockTimeout ||
		got.Clock == nil || got.Logger == nil {
		t.Fatalf("config = %+v; want the defaults", got)
	}
	if _, err := os.Stat(got.Path()); err != nil {
		t.Fatalf("database file: %v", err)
	}
}

func TestOpenFailures(t *testing.T) {
	t.Run("locked by another store", func(t *testing.T) {
		cfg := embedded.DefaultConfig(t.TempDir())
		open(t, cfg)
		cfg.LockTimeout = 50 * time.Millisecond
		begin := time.Now()
		s, err := embedded.Open(cfg)
		if err == nil {
			s.Close()
			t.Fatal("a second Open of the same directory succeeded")
		}
		if !strings.Contains(err.Error(), "locked") || time.Since(begin) > 5*time.Second {
			t.Fatalf("second Open: %v after %v", err, time.Since(begin))
		}
	})
	t.Run("dir is a file", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if s, err := embedded.Open(embedded.DefaultConfig(f)); err == nil {
			s.Close()
			t.Fatal("Open under a regular file succeeded")
		}
	})
	t.Run("not a database", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, embedded.FileName), []byte(strings.Repeat("garbage ", 1000)), 0o600); err != nil {
			t.Fatal(err)
		}
		if s, err := embedded.Open(embedded.DefaultConfig(dir)); err == nil {
			s.Close()
			t.Fatal("Open of a garbage file succeeded")
		}
	})
	t.Run("someone else's bbolt file", func(t *testing.T) {
		dir := t.TempDir()
		db, err := bolt.Open(filepath.Join(dir, embedded.FileName), 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("theirs")); return err }); err != nil {
			t.Fatal(err)
		}
		db.Close()
		s, err := embedded.Open(embedded.DefaultConfig(dir))
		if err == nil {
			s.Close()
			t.Fatal("Open of a foreign bbolt file succeeded")
		}
		if !strings.Contains(err.Error(), "not a shortstock database") {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestClosedStore checks that every method fails with store.ErrClosed
// after Close.
func TestClosedStore(t *testing.T) {
	s, err := embedded.Open(embedded.DefaultConfig(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := t.Context()
	id := keys.NewReservationID(0)
	checks := map[string]error{
		"Ping":               s.Ping(ctx),
		"AddClicks":          s.AddClicks(ctx, map[string]int64{"a": 1}),
		"AddClicks(nothing)": s.AddClicks(ctx, nil),
	}
	_, checks["CreateLink"] = s.CreateLink(ctx, store.NewLink{Code: "a", URL: "https://example.com/", Redirect: 302})
	_, checks["GetLink"] = s.GetLink(ctx, "a")
	_, checks["UpdateLink"] = s.UpdateLink(ctx, "a", store.LinkPatch{})
	_, checks["DeleteLink"] = s.DeleteLink(ctx, "a")
	_, checks["SetStock"] = s.SetStock(ctx, "s", "w", 1)
	_, checks["AdjustStock"] = s.AdjustStock(ctx, "s", "w", 1)
	_, checks["GetStock"] = s.GetStock(ctx, "s")
	_, checks["Reserve"] = s.Reserve(ctx, store.ReserveRequest{SKU: "s", Qty: 1, Now: t0})
	_, checks["GetReservation"] = s.GetReservation(ctx, id)
	_, checks["CommitReservation"] = s.CommitReservation(ctx, id, t0)
	_, checks["ReleaseReservation"] = s.ReleaseReservation(ctx, id)
	_, checks["ExpireHolds"] = s.ExpireHolds(ctx, t0, 10)
	_, checks["Changes"] = s.Changes(ctx, 0, 0, 10)
	_, checks["Heads"] = s.Heads(ctx)
	_, checks["Maintain"] = s.Maintain(ctx)
	for name, err := range checks {
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close: %v, want store.ErrClosed", name, err)
		}
	}
}

// TestCloseUnderLoad closes the store while writers and readers run: each
// call either succeeds or fails with ErrClosed, nothing panics or hangs,
// and what was acknowledged is there after reopening.
func TestCloseUnderLoad(t *testing.T) {
	cfg := embedded.DefaultConfig(t.TempDir())
	s, err := embedded.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := s.SetStock(ctx, "load", "w1", 1<<40); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				r := store.ReserveRequest{ID: keys.NewReservationID(keys.DefaultSpace().Partition(keys.KindStock, "load")), SKU: "load", Qty: 1, Now: t0, TTL: time.Hour}
				_, err := s.Reserve(ctx, r)
				if errors.Is(err, store.ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Reserve: %v", err)
					return
				}
				if _, err := s.GetStock(ctx, "load"); err != nil && !errors.Is(err, store.ErrClosed) {
					t.Errorf("GetStock: %v", err)
				}
				mu.Lock()
				acked = append(acked, r.ID)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(50 * time.Millisecond) // let the load build up: this test is about timing
	if err := s.Close(); err != nil {
		t.Fatalf("Close under load: %v", err)
	}
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no reservation got through before Close")
	}
	s2 := open(t, cfg)
	for _, id := range acked {
		if _, err := s2.GetReservation(ctx, id); err != nil {
			t.Fatalf("acknowledged reservation %s after Close and reopen: %v", id, err)
		}
	}
}

// TestOpenDamagedFile overwrites data pages of a real database with
// garbage: Open must fail with an error or succeed, never panic.
func TestOpenDamagedFile(t *testing.T) {
	page := int64(os.Getpagesize())
	// Whole pages (0 and 1 are bbolt's checksummed meta pages), and page
	// bodies behind an intact header.
	for _, offset := range []int64{2 * page, 3 * page, 5 * page, 8 * page, 2*page + 16, 4*page + 16, 6*page + 40} {
		t.Run(fmt.Sprintf("at%d", offset), func(t *testing.T) {
			cfg := embedded.DefaultConfig(t.TempDir())
			s, err := embedded.Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 50 {
				code := fmt.Sprintf("dmg-%d", i)
				if _, err := s.CreateLink(t.Context(), store.NewLink{Code: code, URL: "https://example.com/" + code, Redirect: 302, CreatedAt: t0}); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(cfg.Path(), os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			garbage := []byte(strings.Repeat("\xde\xad\xbe\xef", 256))
			if _, err := f.WriteAt(garbage, offset); err != nil {
				t.Fatal(err)
			}
			f.Close()
			s, err = embedded.Open(cfg)
			if err != nil {
				t.Logf("Open refused the damaged file: %v", err)
				return
			}
			// Open may not notice damage in pages it need not read; the
			// store must still answer (errors are fine) without dying.
			for i := range 50 {
				_, _ = s.GetLink(t.Context(), fmt.Sprintf("dmg-%d", i))
			}
			_, _ = s.Heads(t.Context())
			s.Close()
		})
	}
}
