package store

import "sync"

// PartitionNotifier is a ChangeNotifier that also says which partitions
// changed, so a tailer reads those partitions' logs instead of the heads
// of every partition after each signal: the cost of following the log
// then grows with the writes, not with the partition count. The Redis
// store implements it (its scripts PUBLISH the partition number).
type PartitionNotifier interface {
	ChangeNotifier
	// PartitionNotify returns a new watch of its own, signalled until
	// the store closes.
	PartitionNotify() *PartitionWatch
}

// PartitionWatch collects the partitions signalled since the watcher last
// took them. C receives (capacity one, signals coalesce, the store never
// blocks) after each Mark or MarkAll.
type PartitionWatch struct {
	C <-chan struct{}
	c chan struct{}

	mu    sync.Mutex
	n     int
	bits  []uint64
	parts []int
	all   bool
}

// NewPartitionWatch is a watch over n partitions (a store's count).
func NewPartitionWatch(n int) *PartitionWatch {
	c := make(chan struct{}, 1)
	return &PartitionWatch{C: c, c: c, n: n, bits: make([]uint64, (n+63)/64)}
}

// Mark records that partition p may have changed (any partition, when p
// is out of range) and signals.
func (w *PartitionWatch) Mark(p int) {
	w.mu.Lock()
	switch {
	case p < 0 || p >= w.n:
		w.all = true
	case w.bits[p/64]&(1<<(p%64)) == 0:
		w.bits[p/64] |= 1 << (p % 64)
		w.parts = append(w.parts, p)
	}
	w.mu.Unlock()
	w.signal()
}

// MarkAll records that any partition may have changed (a subscription
// that (re)started: what was published meanwhile is lost) and signals.
func (w *PartitionWatch) MarkAll() {
	w.mu.Lock()
	w.all = true
	w.mu.Unlock()
	w.signal()
}

func (w *PartitionWatch) signal() {
	select {
	case w.c <- struct{}{}:
	default: // one is pending already
	}
}

// Take returns the partitions marked since the last Take, in the order
// they were first marked, or all=true when any partition may have changed
// (read the heads), and clears them.
func (w *PartitionWatch) Take() (parts []int, all bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	parts, all = w.parts, w.all
	for _, p := range parts {
		w.bits[p/64] &^= 1 << (p % 64)
	}
	w.parts, w.all = nil, false
	if all {
		return nil, true
	}
	return parts, false
}
