package embedded_test

import (
	"errors"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/clock"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/origin/store"
)

// TestForgetting checks that idempotency keys are remembered exactly
// IdempotencyTTL and ended reservations kept ReservationRetention, by the
// store's clock, and that Maintain removes them.
func TestForgetting(t *testing.T) {
	ctx := t.Context()
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	cfg := embedded.DefaultConfig(t.TempDir())
	cfg.Clock = clk
	cfg.IdempotencyTTL = time.Hour
	cfg.ReservationRetention = 2 * time.Hour
	s := open(t, cfg)
	if _, err := s.SetStock(ctx, "fg", "w1", 100); err != nil {
		t.Fatal(err)
	}
	req := func() store.ReserveRequest {
		return store.ReserveRequest{ID: keys.NewReservationID(keys.DefaultSpace().Partition(keys.KindStock, "fg")), SKU: "fg", Qty: 1, Now: clk.Now(), TTL: 24 * time.Hour, IdempotencyKey: "k"}
	}

	first, err := s.Reserve(ctx, req())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitReservation(ctx, first.ID, clk.Now()); err != nil {
		t.Fatal(err)
	}
	clk.Advance(59 * time.Minute)
	if r, err := s.Reserve(ctx, req()); err != nil || !r.Replayed || r.ID != first.ID {
		t.Fatalf("replay within the TTL = %+v, %v", r, err)
	}

	// At the TTL the key is forgotten: the same key reserves anew.
	clk.Advance(time.Minute)
	second, err := s.Reserve(ctx, req())
	if err != nil || second.Replayed || second.ID == first.ID {
		t.Fatalf("reserve after the TTL = %+v, %v; want a new reservation", second, err)
	}
	// The old record's index entry goes; the new record stays.
	if m, err := s.Maintain(ctx); err != nil || m.IdempotencyForgotten != 0 || m.ReservationsForgotten != 0 {
		t.Fatalf("Maintain = %+v, %v; want nothing forgotten yet", m, err)
	}
	if r, err := s.Reserve(ctx, req()); err != nil || !r.Replayed || r.ID != second.ID {
		t.Fatalf("replay of the new record = %+v, %v", r, err)
	}

	// At start+3h: the second key is past its TTL; the first reservation
	// ended at start, past the 2h retention; the second is still held.
	clk.Set(start.Add(3 * time.Hour))
	m, err := s.Maintain(ctx)
	// The key is held twice: its reservation index entry and its global
	// claim (a key is one request across SKUs and stock writes); both go.
	if err != nil || m.IdempotencyForgotten != 2 || m.ReservationsForgotten != 1 {
		t.Fatalf("Maintain = %+v, %v; want 1 key (index entry and global claim) and 1 reservation forgotten", m, err)
	}
	if _, err := s.GetReservation(ctx, first.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ended reservation past retention: %v, want ErrNotFound", err)
	}
	if r, err := s.GetReservation(ctx, second.ID); err != nil || r.Status != store.StatusHeld {
		t.Fatalf("held reservation: %+v, %v; held ones are never forgotten", r, err)
	}
	if m, err := s.Maintain(ctx); err != nil || m != (embedded.Maintenance{}) {
		t.Fatalf("second Maintain = %+v, %v; want nothing", m, err)
	}
}

// TestMaintenanceLoop checks that the background loop runs and that Close
// stops it.
func TestMaintenanceLoop(t *testing.T) {
	cfg := embedded.DefaultConfig(t.TempDir())
	cfg.ChangeLogMaxAge = time.Second
	cfg.MaintenanceInterval = 5 * time.Millisecond
	clk := clock.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	cfg.Clock = clk
	s := open(t, cfg)
	codes, p := codesIn("loop-", 3)
	createAll(t, s, codes)
	clk.Advance(time.Hour)
	deadline := time.Now().Add(5 * time.Second)
	for {
		page, err := s.Changes(t.Context(), p, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if page.First == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the maintenance loop did not trim: first %d", page.First)
		}
		time.Sleep(5 * time.Millisecond) // waiting for a real background goroutine
	}
}
