package topology

import (
	"sync"
	"time"

	"github.com/shortstock/shortstock/internal/change"
)

// delayQueue hands changes on after a fixed delay, in order: the injected
// replication delay between regions. One goroutine owns the queue; close
// stops it and waits (changes still queued are dropped, as a lost link
// would drop them; edges recover them through the watermarks).
type delayQueue struct {
	delay time.Duration
	out   func(change.Change)
	in    chan delayed
	stop  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
}

type delayed struct {
	c   change.Change
	due time.Time
}

func newDelayQueue(d time.Duration, out func(change.Change)) *delayQueue {
	q := &delayQueue{delay: d, out: out, in: make(chan delayed, 65536), stop: make(chan struct{})}
	q.wg.Add(1)
	go q.run()
	return q
}

// push never blocks: past the buffer a change is dropped, as on a congested
// link, and anti-entropy repairs it.
func (q *delayQueue) push(c change.Change) {
	select {
	case q.in <- delayed{c, time.Now().Add(q.delay)}:
	default:
	}
}

func (q *delayQueue) run() {
	defer q.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		var d delayed
		select {
		case <-q.stop:
			return
		case d = <-q.in:
		}
		if wait := time.Until(d.due); wait > 0 {
			t.Reset(wait)
			select {
			case <-q.stop:
				return
			case <-t.C:
			}
		}
		q.out(d.c)
	}
}

func (q *delayQueue) close() {
	q.once.Do(func() { close(q.stop); q.wg.Wait() })
}
