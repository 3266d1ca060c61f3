package embedded

import (
	"errors"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// TestBatchRerunsAreHarmless puts failing functions into the same bbolt
// batches as reservations. bbolt then rolls the batch back and runs it
// again without the failing one, so every reservation function runs more
// than once; results must still be exact: each reservation once, stock,
// version and change log as if each ran once.
func TestBatchRerunsAreHarmless(t *testing.T) {
	cfg := DefaultConfig(t.TempDir())
	cfg.MaxBatchSize = 1000
	cfg.MaxBatchDelay = 20 * time.Millisecond // gather everyone into few batches
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	if _, err := s.SetStock(ctx, "rerun", "w1", 40); err != nil {
		t.Fatal(err)
	}

	const buyers, saboteurs = 60, 10
	boom := errors.New("boom")
	var wg sync.WaitGroup
	start := make(chan struct{})
	results := make([]error, buyers)
	ids := make([]string, buyers)
	for i := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i] = keys.NewReservationID(keys.DefaultSpace().Partition(keys.KindStock, "rerun"))
			<-start
			_, results[i] = s.Reserve(ctx, store.ReserveRequest{ID: ids[i], SKU: "rerun", Qty: 1, Now: t0z, TTL: time.Hour})
		}()
	}
	for range saboteurs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			// Writes something, then fails: the batch must roll it back.
			err := s.db.Batch(func(tx *bolt.Tx) error {
				if err := tx.Bucket(bucketMeta).Put([]byte("sabotage"), []byte("x")); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Errorf("saboteur: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()

	var ok, short int
	for i, err := range results {
		switch {
		case err == nil:
			ok++
			if r, err := s.GetReservation(ctx, ids[i]); err != nil || r.Status != store.StatusHeld {
				t.Fatalf("reservation %s: %+v, %v", ids[i], r, err)
			}
		case errors.Is(err, store.ErrInsufficientStock):
			short++
		default:
			t.Fatalf("Reserve: %v", err)
		}
	}
	if ok != 40 || short != buyers-40 {
		t.Fatalf("%d reserved, %d refused; want 40 and %d", ok, short, buyers-40)
	}
	v, err := s.GetStock(ctx, "rerun")
	if err != nil || v.Version != 41 || v.Warehouses["w1"].Reserved != 40 {
		t.Fatalf("stock = %+v, %v; want version 41 with 40 reserved", v, err)
	}
	heads, err := s.Heads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := keys.DefaultSpace().Partition(keys.KindStock, "rerun")
	if heads[p] != 41 {
		t.Fatalf("head %d, want 41: one change per write, however often bbolt ran it", heads[p])
	}
	_ = s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta).Get([]byte("sabotage")) != nil {
			t.Error("a failed batch function's write was kept")
		}
		return nil
	})
}

var t0z = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
