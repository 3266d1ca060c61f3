// Package slicer breaks a long background loop into short slices, so
// that on a server with one processor (GOMAXPROCS=1, one pinned core)
// the requests it serves are not held up behind the loop.
//
// Yielding is not enough. runtime.Gosched puts the loop on the global
// run queue, which the scheduler consults before it polls the network
// (Go polls only when a processor has nothing else to run, or from sysmon
// every 10 ms; golang/go#51651), so a loop that keeps yielding keeps
// running while connections whose requests have arrived go unnoticed. A
// short sleep is not enough either: its timer readies the loop into the
// processor's runnext slot, ahead of every goroutine already queued. What
// works is a duty cycle: after each slice of Work the loop sleeps for
// Pause, long enough for the processor to poll the network and serve what
// is queued. With the defaults (100 us of work, 900 us of pause) a loop
// takes at most a tenth of the processor while requests are waiting.
//
// Measured on the edge's click flush (docs/bench.md): wrk's p99 against
// one pinned edge fell from 4-7 ms to 2.5-3.5 ms with the flush in slices.
package slicer

import "time"

// Defaults of a Slicer's zero value.
const (
	// DefaultWork is how long a slice runs before it pauses.
	DefaultWork = 100 * time.Microsecond
	// DefaultPause is how long a slice pauses. (An idle process sleeps
	// at least its poller's 1 ms; harmless, since nothing waits then.)
	DefaultPause = 900 * time.Microsecond
	// checkEvery is how many Ticks pass between clock reads.
	checkEvery = 64
)

// Slicer paces one loop; its zero value uses the defaults. It is not safe
// for concurrent use: each loop has its own.
type Slicer struct {
	// Work and Pause override DefaultWork and DefaultPause when > 0.
	Work, Pause time.Duration

	n     int
	since time.Time
	// Pauses counts the pauses taken, for tests and metrics.
	Pauses int
}

// Tick is called once per item of the loop; every checkEvery items it
// reads the clock and, once the slice has run for Work, sleeps for Pause.
func (s *Slicer) Tick() {
	s.n++
	if s.n%checkEvery != 0 {
		return
	}
	now := time.Now()
	if s.since.IsZero() {
		s.since = now
		return
	}
	work := s.Work
	if work <= 0 {
		work = DefaultWork
	}
	if now.Sub(s.since) < work {
		return
	}
	pause := s.Pause
	if pause <= 0 {
		pause = DefaultPause
	}
	time.Sleep(pause)
	s.Pauses++
	s.since = time.Now()
}
