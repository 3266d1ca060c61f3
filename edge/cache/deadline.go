package cache

import (
	"context"
	"sync"
	"time"
)

// loadDeadlines hands fills a context whose deadline bounds their Load.
// context.WithTimeout per fill allocates a timer and a context (112 bytes
// each): garbage of the size class that entries of short links live in,
// which stays scattered among them and keeps their pages resident after a
// fill wave. So fills that start within a slice of LoadTimeout share one
// context, whose deadline is LoadTimeout after the slice began: a Load
// gets between (1 - 1/slices) x LoadTimeout and LoadTimeout, never more.
// A shared context is released by its own timer at its deadline.
type loadDeadlines struct {
	parent  context.Context
	timeout time.Duration
	slice   time.Duration

	mu      sync.Mutex
	ctx     context.Context
	until   time.Time // when ctx stops being handed out
	cancels []context.CancelFunc
}

// deadlineSlices is how many slices of LoadTimeout share a context each.
const deadlineSlices = 16

func newLoadDeadlines(parent context.Context, timeout time.Duration) *loadDeadlines {
	return &loadDeadlines{parent: parent, timeout: timeout, slice: max(timeout/deadlineSlices, 1)}
}

// get returns the context for a Load starting now (real time: context
// deadlines are).
func (d *loadDeadlines) get() context.Context {
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx == nil || !now.Before(d.until) {
		ctx, cancel := context.WithDeadline(d.parent, now.Add(d.timeout))
		// Keep the cancels of the contexts that may still be in use (at
		// most deadlineSlices+1 are within their deadline), for close.
		if len(d.cancels) > deadlineSlices {
			d.cancels[0]() // past its deadline: released already
			d.cancels = append(d.cancels[:0], d.cancels[1:]...)
		}
		d.ctx, d.until = ctx, now.Add(d.slice)
		d.cancels = append(d.cancels, cancel)
	}
	return d.ctx
}

// close releases every context.
func (d *loadDeadlines) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, cancel := range d.cancels {
		cancel()
	}
	d.cancels, d.ctx = nil, nil
}
