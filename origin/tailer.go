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
	if n, ok := t.s.store.(store.ChangeNotifier); ok {
		changed = n.ChangeNotify()
		every = max(every, notifiedTailInterval)
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		t.poll()
		select {
		case <-t.s.stop:
			return
		case <-tick.C:
		case <-t.wake:
		case <-changed:
		}
	}
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
	for p, head := range heads {
		for last[p] < head {
			page, err := t.log.Changes(ctx, p, last[p], tailPage)
			if err != nil {
				t.s.metrics.tailErrors.Inc()
				return
			}
			if page.First > last[p]+1 {
				// Trimmed before we read it: skip ahead; edges find the gap
				// through the watermarks and drop the partition.
				last[p] = page.First - 1
			}
			if len(page.Changes) == 0 {
				break
			}
			for _, c := range page.Changes {
				if t.s.cfg.Publisher != nil {
					t.s.cfg.Publisher.Publish(c)
				}
				t.s.receipts.indexChange(c)
				t.s.hookChange(c)
				last[p] = c.Seq
			}
			t.s.metrics.changesTailed.Add(float64(len(page.Changes)))
			t.mu.Lock()
			t.last[p] = last[p]
			t.mu.Unlock()
		}
	}
}
