package embedded

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

// clickMerger gathers click batches into shared transactions. Every edge
// sends a batch a second; applied one by one, each batch's write opened
// and rewrote the partitions and pages of the links it counted (in a 3 x
// 10 bench, click batches were 39 % of all the bytes the process
// allocated, most of it bbolt materializing those pages). Merged, a link
// clicked at ten edges is written once, and the pages the batches share
// once per merge.
//
// The first batch to arrive when none waits becomes the leader: it waits
// ClickMergeDelay, takes every batch that arrived meanwhile (its own
// included), applies them in one transaction and answers them all. No
// goroutine of its own: the leader is a caller. A batch is answered only
// once its transaction is committed, so an edge never drops counts the
// store does not hold; a caller that gives up waiting may still see its
// batch applied, and its retry (same ID) is then a dup, as before.
type clickMerger struct {
	mu      sync.Mutex
	waiting []*clickReq // nil when no leader waits
}

// clickReq is one batch in a merge, and its answer.
type clickReq struct {
	b    store.ClickBatch
	dup  bool
	err  error
	done chan struct{}
}

func (m *clickMerger) apply(ctx context.Context, s *Store, b store.ClickBatch) (bool, error) {
	r := &clickReq{b: b, done: make(chan struct{})}
	m.mu.Lock()
	leader := m.waiting == nil
	m.waiting = append(m.waiting, r)
	m.mu.Unlock()
	if leader {
		m.lead(ctx, s)
	}
	select {
	case <-r.done:
		return r.dup, r.err
	case <-ctx.Done():
		return false, fmt.Errorf("embedded: apply click batch: %w", ctx.Err())
	}
}

// lead waits for followers, then applies what waits. It does so even when
// its own caller gives up meanwhile (the write runs without ctx's
// cancellation): the followers' batches ride on it. Close cuts the wait
// short, and the write then fails with store.ErrClosed.
func (m *clickMerger) lead(ctx context.Context, s *Store) {
	t := time.NewTimer(s.cfg.ClickMergeDelay)
	select {
	case <-t.C:
	case <-s.stop:
		t.Stop()
	}
	m.mu.Lock()
	reqs := m.waiting
	m.waiting = nil
	m.mu.Unlock()
	err := s.applyClickBatches(context.WithoutCancel(ctx), reqs)
	for _, r := range reqs {
		if err != nil {
			r.dup, r.err = false, err
		}
		close(r.done)
	}
}
