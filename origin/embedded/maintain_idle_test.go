package embedded

import (
	"context"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shortstock/shortstock/internal/clock"
)

// TestIdleMaintainWritesNothing: a maintenance pass over a store with
// nothing to trim or forget commits no write transaction (at 1024
// partitions it used to commit one, with its fsync, per partition every
// MaintenanceInterval); one with work in a single partition commits only
// there.
func TestIdleMaintainWritesNothing(t *testing.T) {
	cfg := DefaultConfig(t.TempDir())
	cfg.Partitions = 1024
	cfg.MaintenanceInterval = time.Hour
	cfg.LedgerIndexInterval = time.Hour // its own commits are not Maintain's
	clk := clock.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	cfg.Clock = clk
	cfg.ChangeLogMaxAge = time.Minute
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	txid := func() int {
		var id int
		if err := s.db.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil }); err != nil {
			t.Fatal(err)
		}
		return id
	}
	ctx := context.Background()
	before := txid()
	if m, err := s.Maintain(ctx); err != nil || m != (Maintenance{}) {
		t.Fatalf("Maintain on an empty store: %+v, %v", m, err)
	}
	if after := txid(); after != before {
		t.Fatalf("an idle Maintain committed %d write transactions", after-before)
	}
	// Three versions of one SKU, then past ChangeLogMaxAge: its
	// partition's log keeps only its newest change.
	for i := range 3 {
		if _, err := s.SetStock(ctx, "MAINT-1", "w", int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(2 * time.Minute)
	before = txid()
	m, err := s.Maintain(ctx)
	if err != nil || m.ChangesTrimmed != 2 {
		t.Fatalf("Maintain: %+v, %v (want 2 changes trimmed)", m, err)
	}
	if n := txid() - before; n != 1 {
		t.Fatalf("Maintain with one partition to trim committed %d write transactions, want 1", n)
	}
}
