package origin

import (
	"context"
	"sync"
	"time"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/origin/store"
)

// tailer reads the storage change log and hands every new change to the
// Publisher. Invalidations come from the log, not from the request that
// wrote, so a crash between a write and its gossip loses nothing: edges
// compare their watermarks with Heads and replay what they missed.
//
// It starts at the log's current heads: history before the origin started is
// for edges to replay from the log, not to be gossiped again.
//
// A write through this origin nudges it, so its change goes out at once
// rather than at the next tick (half a TailInterval later on average); the
// tick still finds changes written by other origins sharing the store.
type tailer struct {
	s    *Server
	log  changeLog
	mu   sync.Mutex
	last []uint64
	wake chan struct{} // cap 1: nudges coalesce while a poll runs
	// values says whether this pass may read pushed values (set by
	// startValues); valuesUntil ends its time for them (pushValuesBudget),
	// counted from its first value read, so a slow change-log read before
	// it does not spend the budget.
	values      bool
	valuesUntil time.Time
}

// changeLog is what the tailer reads of the store.
type changeLog interface {
	Heads(ctx context.Context) ([]uint64, error)
	Changes(ctx context.Context, partition int, after uint64, limit int) (change.Page, error)
}

const tailPage = 1000

func newTailer(s *Server) *tailer {
	return &tailer{s: s, log: s.store, wake: make(chan struct{}, 1)}
}

// nudge asks for a poll now; it never blocks.
func (t *tailer) nudge() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

func (t *tailer) heads() []uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]uint64(nil), t.last...)
}

// notifiedTailInterval is the safety poll of a tailer whose store signals
// every commit (store.ChangeNotifier): it only bounds the cost of a write
// path that forgot to signal. Idle, such a tailer reads nothing, so the
// origin's idle cost does not grow with the partition count.
const notifiedTailInterval = time.Second

func (t *tailer) run() {
	defer t.s.wg.Done()
	every := t.s.cfg.TailInterval
	var changed <-chan struct{}
	var parts *store.PartitionWatch
	if n, ok := t.s.store.(store.PartitionNotifier); ok {
		parts = n.PartitionNotify()
		changed = parts.C
		every = max(every, notifiedTailInterval)
	} else if n, ok := t.s.store.(store.ChangeNotifier); ok {
		changed = n.ChangeNotify()
		every = max(every, notifiedTailInterval)
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	t.poll()
	for {
		select {
		case <-t.s.stop:
			return
		case <-tick.C:
			t.poll()
		case <-t.wake:
			if parts == nil {
				t.poll()
			}
			// else the write's own signal names its partition (and
			// arrives as soon as the nudge would).
		case <-changed:
			if parts == nil {
				t.poll()
				continue
			}
			// Only the partitions signalled: a signal costs one read of
			// each, not the heads of every partition.
			if ps, all := parts.Take(); all {
				t.poll()
			} else {
				t.pollParts(ps)
			}
		}
	}
}

// pollParts reads the new changes of the given partitions (after a first
// poll has set the starting heads; before it, it polls everything).
func (t *tailer) pollParts(parts []int) {
	t.mu.Lock()
	started := t.last != nil
	t.mu.Unlock()
	if !started {
		t.poll()
		return
	}
	ctx, cancel := context.WithTimeout(t.s.ctx, 5*time.Second)
	defer cancel()
	t.startValues(len(parts))
	for _, p := range parts {
		if p < 0 || p >= t.s.space.N() {
			continue
		}
		if !t.readPartition(ctx, p, ^uint64(0)) {
			return
		}
	}
}

// startValues starts a pass over parts partitions: it may read values
// for pushValuesBudget, or not at all when the pass covers more than
// pushValuesMaxParts partitions (each page's values are a round trip on
// Redis: a pass over many partitions is a burst, where values would hold
// the invalidations back).
func (t *tailer) startValues(parts int) {
	t.values, t.valuesUntil = parts <= pushValuesMaxParts, time.Time{}
}

// valuesDeadline is when this pass stops reading values: the zero time
// (none left) when it may not read any; else pushValuesBudget after its
// first value read.
func (t *tailer) valuesDeadline() time.Time {
	if t.values && t.valuesUntil.IsZero() {
		t.valuesUntil = t.s.cfg.Clock.Now().Add(pushValuesBudget)
	}
	return t.valuesUntil
}

func (t *tailer) poll() {
	ctx, cancel := context.WithTimeout(t.s.ctx, 5*time.Second)
	defer cancel()
	heads, err := t.log.Heads(ctx)
	if t.s.ctx.Err() != nil {
		return // closing
	}
	if err != nil || len(heads) != t.s.space.N() {
		t.s.metrics.tailErrors.Inc()
		return
	}
	t.mu.Lock()
	first := t.last == nil
	if first {
		t.last = heads
	}
	last := append([]uint64(nil), t.last...)
	t.mu.Unlock()
	if first {
		return
	}
	moved := 0
	for p, head := range heads {
		if last[p] < head {
			moved++
		}
	}
	t.startValues(moved)
	for p, head := range heads {
		if last[p] < head && !t.readPartition(ctx, p, head) {
			return
		}
	}
}

// readPartition publishes partition p's changes after the last one read,
// up to head (^0: up to the head the log reports). The tailer runs on one
// goroutine, so t.last[p] moves only here. False: a read failed.
func (t *tailer) readPartition(ctx context.Context, p int, head uint64) bool {
	t.mu.Lock()
	last := t.last[p]
	t.mu.Unlock()
	for last < head {
		page, err := t.log.Changes(ctx, p, last, tailPage)
		if err != nil {
			t.s.metrics.tailErrors.Inc()
			return false
		}
		if page.First > last+1 {
			// Trimmed before we read it: skip ahead; edges find the gap
			// through the watermarks and drop the partition.
			last = page.First - 1
		}
		if len(page.Changes) == 0 {
			break
		}
		if t.s.cfg.Publisher != nil {
			t.s.attachValues(ctx, page.Changes, t.valuesDeadline())
		}
		for _, c := range page.Changes {
			if t.s.cfg.Publisher != nil {
				t.s.cfg.Publisher.Publish(c)
			}
			t.s.receipts.indexChange(c)
			t.s.hookChange(c)
			last = c.Seq
		}
		t.s.metrics.changesTailed.Add(float64(len(page.Changes)))
		t.mu.Lock()
		t.last[p] = last
		t.mu.Unlock()
		if last >= page.Head {
			break
		}
	}
	return true
}
