package redisstore

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shortstock/shortstock/origin/store"
)

// tailNotify is the store's side of store.ChangeNotifier on Redis: every
// script that appends to a partition's change log PUBLISHes on
// "<prefix>:tail" (lua/common.lua notify_tail), and one subscription per
// Store, started by the first ChangeNotify, signals every watcher. Redis
// is shared by the origins of every region, so the signal also carries the
// writes of other origins, which the tailer would otherwise only find by
// polling the heads of every partition.
//
// Pub/sub is fire and forget: a message published while the subscription
// is down is lost. So every (re)subscription signals too (the tailer then
// reads the heads once), and the tailer keeps a slow safety poll.
type tailNotify struct {
	mu       sync.Mutex
	watchers []chan struct{}
	parts    []*store.PartitionWatch // PartitionNotify's: told which partition
	started  bool
	cancel   context.CancelFunc
	ps       *redis.PubSub // closed by stop: Receive ignores ctx while blocked
	done     chan struct{}
}

var (
	_ store.ChangeNotifier    = (*Store)(nil)
	_ store.PartitionNotifier = (*Store)(nil)
)

// ChangeNotify implements store.ChangeNotifier. Each call returns a new
// channel (capacity one) of its own, signalled until the store closes.
func (s *Store) ChangeNotify() <-chan struct{} {
	ch := make(chan struct{}, 1)
	if s.watchTail(func(n *tailNotify) { n.watchers = append(n.watchers, ch) }) {
		ch <- struct{}{} // fresh, capacity one: never blocks
	}
	return ch
}

// PartitionNotify implements store.PartitionNotifier: the message a script
// publishes is its partition's number, marked on the watch; a
// (re)subscription marks all of them.
func (s *Store) PartitionNotify() *store.PartitionWatch {
	w := store.NewPartitionWatch(s.space.N())
	if s.watchTail(func(n *tailNotify) { n.parts = append(n.parts, w) }) {
		w.MarkAll()
	}
	return w
}

// watchTail adds a watcher and starts the subscription if it is the first.
// It reports whether the subscription was running already: the new
// watcher may then have missed its start signal (and what was published
// before it joined), so the caller signals it once, and its owner reads
// the heads as after a (re)subscription.
func (s *Store) watchTail(add func(*tailNotify)) (late bool) {
	n := &s.notify
	n.mu.Lock()
	defer n.mu.Unlock()
	add(n)
	if n.started {
		return true
	}
	if !s.closed.Load() {
		n.started = true
		ctx, cancel := context.WithCancel(context.Background())
		n.cancel, n.done = cancel, make(chan struct{})
		// Subscribe only creates the PubSub; it connects on first use.
		n.ps = s.rw.Subscribe(ctx, s.ks.prefix+":tail")
		go s.subscribeTail(ctx, n.ps)
	}
	return false
}

// signal wakes every watcher; it never blocks. p is the partition a
// message named, or -1: any partition (a subscription that (re)started).
func (n *tailNotify) signal(p int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, w := range n.parts {
		w.Mark(p) // out of range marks all
	}
	for _, ch := range n.watchers {
		select {
		case ch <- struct{}{}:
		default: // one is pending already
		}
	}
}

// stop ends the subscription and waits for it (Close).
func (n *tailNotify) stop() {
	n.mu.Lock()
	cancel, ps, done := n.cancel, n.ps, n.done
	n.started = true // none may start after Close
	n.mu.Unlock()
	if cancel != nil {
		cancel()
		_ = ps.Close() // ends a Receive blocked on the connection
		<-done
	}
}

// subscribeTail receives tail messages until ctx ends. go-redis resubscribes
// after a lost connection; each subscription confirmation signals, so what
// was published meanwhile is read through the heads.
func (s *Store) subscribeTail(ctx context.Context, ps *redis.PubSub) {
	defer close(s.notify.done)
	for {
		msg, err := ps.Receive(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			// go-redis reconnects on the next Receive; do not spin while
			// Redis is away.
			s.notify.signal(-1)
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Message:
			// One partition number, or several comma separated (a bulk
			// chunk's partitions); anything else: read every head.
			for f := range strings.SplitSeq(m.Payload, ",") {
				p, err := strconv.Atoi(f)
				if err != nil {
					p = -1
				}
				s.notify.signal(p)
			}
		case *redis.Subscription:
			s.notify.signal(-1)
		}
	}
}
