package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/origin/store"
)

// Batches that arrive together share one write, each is applied exactly
// once (a batch sent twice, as an edge retries, counts once), and each
// caller is answered only once its clicks are in the store.
func TestClickBatchesMergeAndApplyOnce(t *testing.T) {
	cfg := embedded.DefaultConfig(t.TempDir())
	cfg.NoSync = true
	// Long enough that every batch below arrives while the first waits,
	// even on a slow machine; the test takes that long.
	cfg.ClickMergeDelay = time.Second
	s := open(t, cfg)
	ctx := t.Context()
	for _, c := range []string{"mg1", "mg2"} {
		if _, err := s.CreateLink(ctx, store.NewLink{Code: c, URL: "https://example.com/" + c, Redirect: 302}); err != nil {
			t.Fatal(err)
		}
	}
	const edges = 10
	var wg sync.WaitGroup
	dups := make([]bool, edges+1)
	errs := make(chan error, edges+1)
	for i := range edges + 1 {
		id := fmt.Sprintf("edge-%d", i%edges) // the last one resends edge-0's batch
		wg.Go(func() {
			dup, err := s.ApplyClickBatch(ctx, store.ClickBatch{ID: id, Counts: map[string]int64{"mg1": 1, "mg2": 2}})
			if err != nil {
				errs <- err
				return
			}
			dups[i] = dup
			l, err := s.GetLink(ctx, "mg1")
			if err != nil || l.Clicks < 1 {
				errs <- fmt.Errorf("batch %s answered before its clicks were stored: mg1 has %d clicks (%v)", id, l.Clicks, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for c, want := range map[string]int64{"mg1": edges, "mg2": 2 * edges} {
		l, err := s.GetLink(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if l.Clicks != want {
			t.Errorf("%s has %d clicks, want %d (each batch once)", c, l.Clicks, want)
		}
	}
	if dups[0] == dups[edges] {
		t.Errorf("edge-0's batch sent twice: duplicate %v and %v, want exactly one duplicate", dups[0], dups[edges])
	}
	if w := embedded.ClickWrites(s); w >= edges+1 {
		t.Errorf("%d batches took %d writes: none were merged", edges+1, w)
	}
}

// A caller that gives up waiting gets its context's error; its batch is
// still applied with the others, and its retry is then a duplicate.
func TestClickBatchCallerGivesUp(t *testing.T) {
	cfg := embedded.DefaultConfig(t.TempDir())
	cfg.NoSync = true
	cfg.ClickMergeDelay = 2 * time.Second // time for the follower to join
	s := open(t, cfg)
	ctx := t.Context()
	if _, err := s.CreateLink(ctx, store.NewLink{Code: "gu1", URL: "https://example.com/gu1", Redirect: 302}); err != nil {
		t.Fatal(err)
	}
	leaderDone := make(chan error, 1)
	go func() {
		_, err := s.ApplyClickBatch(ctx, store.ClickBatch{ID: "leader", Counts: map[string]int64{"gu1": 1}})
		leaderDone <- err
	}()
	waitBatchesWaiting(t, s, 1)
	gaveUp, cancel := context.WithCancel(ctx)
	followerDone := make(chan error, 1)
	go func() {
		_, err := s.ApplyClickBatch(gaveUp, store.ClickBatch{ID: "follower", Counts: map[string]int64{"gu1": 5}})
		followerDone <- err
	}()
	waitBatchesWaiting(t, s, 2)
	cancel()
	if err := <-followerDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("a follower that gave up waiting: %v, want context.Canceled", err)
	}
	if err := <-leaderDone; err != nil {
		t.Fatal(err)
	}
	l, err := s.GetLink(ctx, "gu1")
	if err != nil {
		t.Fatal(err)
	}
	if l.Clicks != 6 {
		t.Fatalf("gu1 has %d clicks, want 6: the follower's batch rides on the leader's write", l.Clicks)
	}
	if dup, err := s.ApplyClickBatch(ctx, store.ClickBatch{ID: "follower", Counts: map[string]int64{"gu1": 5}}); err != nil || !dup {
		t.Fatalf("the follower's retry: duplicate %v, err %v; want a duplicate", dup, err)
	}
}

// Close does not wait out a merge: the waiting batch fails at once with
// store.ErrClosed, so the edge keeps its counts and resends them.
func TestClickMergeEndsAtClose(t *testing.T) {
	cfg := embedded.DefaultConfig(t.TempDir())
	cfg.NoSync = true
	cfg.ClickMergeDelay = 10 * time.Second
	s, err := embedded.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.ApplyClickBatch(t.Context(), store.ClickBatch{ID: "c", Counts: map[string]int64{"x": 1}})
		done <- err
	}()
	waitBatchesWaiting(t, s, 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Half the merge delay: a wait not cut short takes the whole of it.
	select {
	case err := <-done:
		if !errors.Is(err, store.ErrClosed) {
			t.Fatalf("a batch waiting at Close: %v, want store.ErrClosed", err)
		}
	case <-time.After(cfg.ClickMergeDelay / 2):
		t.Fatal("Close left a click batch waiting out the merge delay")
	}
}

// waitBatchesWaiting polls until n click batches wait for a merged write.
func waitBatchesWaiting(t *testing.T, s *embedded.Store, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for embedded.ClickBatchesWaiting(s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d click batches never waited together", n)
		}
		time.Sleep(time.Millisecond)
	}
}
