package cache

import (
	"sync/atomic"

	"github.com/shortstock/shortstock/internal/slicer"
)

// Clicks counts clicks on entries without a lock: the count lives in the
// Entry, and the first click after a drain pushes the entry onto a
// lock-free stack (Treiber) that Drain swaps out whole. A hit thus costs
// one atomic add, and a CAS once per entry per flush interval.
type Clicks struct {
	head atomic.Pointer[Entry]
}

// Add counts one click on e.
func (c *Clicks) Add(e *Entry) {
	if e.clicks.Add(1) != 1 {
		return // already on the stack (or being drained, which reads the counter after unlinking)
	}
	for {
		old := c.head.Load()
		e.next.Store(old)
		if c.head.CompareAndSwap(old, e) {
			return
		}
	}
}

// Drain takes every pending count and adds it to into, keyed by entry ID
// (a string that shares the entry's bytes and keeps the entry alive while
// into holds it), and returns the sum of the counts it took. Counts that arrive while
// Drain runs are kept for the next one. On a busy edge a drain walks tens
// of thousands of entries scattered over memory, milliseconds of work, so
// it runs in short slices (see package slicer), paced by sl.
func (c *Clicks) Drain(into map[string]int64, sl *slicer.Slicer) (total int64) {
	e := c.head.Swap(nil)
	for e != nil {
		sl.Tick()
		// Read next before zeroing: once the counter is 0, a concurrent Add
		// may push e again and overwrite next.
		next := e.next.Load()
		if n := e.clicks.Swap(0); n > 0 {
			// A key for into without a copy: a map insert with
			// string(bytes) would allocate one string per code a flush.
			into[e.idString()] += int64(n)
			total += int64(n)
		}
		e = next
	}
	return total
}
