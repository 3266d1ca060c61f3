package edge

import (
	"sync"
)

// watermarks tracks, per partition, the last change seq applied without a
// hole, the changes applied beyond it out of order, and the newest seq
// known to exist (from changes and origin heads). A partition that is
// behind its target gets a due time, after which the catch-up loop reads
// the change log; the delay lets gossip, which does not keep order, fill
// the hole first.
type watermarks struct {
	mu    sync.Mutex
	known bool // first contact: seqs mean nothing before the origin's heads are known
	// Every slice has one entry per partition.
	last []uint64
	// ahead bit k says seq last+2+k was applied already (it came early).
	ahead  []uint64
	target []uint64
	// due is when the partition's catch-up is due (unix ns), 0 for none.
	due []int64
	// pend are heads waiting to be confirmed applied, read at pendAt
	// (unix ns; 0: none). See expect.
	pend   []uint64
	pendAt int64
	// moved receives (capacity one, never blocking the writer) when a
	// partition's last applied seq moves: the applied reports wait on it
	// instead of looking every ReceiptInterval.
	moved chan struct{}
}

func newWatermarks(n int) *watermarks {
	return &watermarks{last: make([]uint64, n), ahead: make([]uint64, n), target: make([]uint64, n), due: make([]int64, n), pend: make([]uint64, n),
		moved: make(chan struct{}, 1)}
}

// movedLocked signals moved.
func (w *watermarks) movedLocked() {
	select {
	case w.moved <- struct{}{}:
	default: // one is pending
	}
}

// initialize sets every partition's position to the origin's heads, the
// first time only. It reports whether it did.
func (w *watermarks) initialize(heads []uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.known {
		return false
	}
	w.known = true
	copy(w.last, heads)
	copy(w.target, heads)
	w.movedLocked()
	return true
}

func (w *watermarks) isKnown() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.known
}

// see records change seq of partition p as applied and reports whether a
// catch-up became due (the caller then wakes the loop).
func (w *watermarks) see(p int, seq uint64, now, grace int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.known || seq <= w.last[p] {
		return false // before first contact, or a replay
	}
	w.target[p] = max(w.target[p], seq)
	switch k := seq - w.last[p] - 2; {
	case seq == w.last[p]+1:
		w.advanceLocked(p)
	case k < 64:
		w.ahead[p] |= 1 << k
	}
	return w.scheduleLocked(p, now, grace)
}

// observe takes an origin's heads: a partition whose head is past what we
// applied becomes due for catch-up. Before first contact it initializes
// instead; it reports (initialized, catch-up due).
func (w *watermarks) observe(heads []uint64, now, grace int64) (bool, bool) {
	w.mu.Lock()
	if !w.known {
		w.mu.Unlock()
		return w.initialize(heads), false
	}
	defer w.mu.Unlock()
	kick := false
	for p, h := range heads {
		w.target[p] = max(w.target[p], h)
		if w.scheduleLocked(p, now, grace) {
			kick = true
		}
	}
	return false, kick
}

// advanceLocked applies seq last+1 and every early one right after it.
func (w *watermarks) advanceLocked(p int) {
	w.movedLocked()
	for {
		w.last[p]++
		early := w.ahead[p]&1 != 0
		w.ahead[p] >>= 1
		if !early {
			return
		}
	}
}

// applied moves partition p's position to upto (a catch-up read the log
// that far) and raises its target to head.
func (w *watermarks) applied(p int, upto, head uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.target[p] = max(w.target[p], head)
	if upto <= w.last[p] {
		return
	}
	shift := upto - w.last[p]
	// Seq upto+1 is bit shift-1 of the old bitmap: was it applied early?
	next := shift-1 < 64 && w.ahead[p]>>(shift-1)&1 != 0
	if shift < 64 {
		w.ahead[p] >>= shift
	} else {
		w.ahead[p] = 0
	}
	w.last[p] = upto
	w.movedLocked()
	if next {
		w.advanceLocked(p)
	}
}

// scheduleLocked gives p a due time if it is behind and has none; it
// clears it once p caught up. It reports whether a new one was set.
func (w *watermarks) scheduleLocked(p int, now, grace int64) bool {
	if w.last[p] >= w.target[p] {
		w.due[p] = 0
		return false
	}
	if w.due[p] != 0 {
		return false
	}
	w.due[p] = now + grace
	return true
}

// position returns where partition p stands: last applied, target.
func (w *watermarks) position(p int) (last, target uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last[p], w.target[p]
}

// settle clears p's due time if it caught up, or pushes it to retryAt.
func (w *watermarks) settle(p int, retryAt int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last[p] >= w.target[p] {
		w.due[p] = 0
	} else {
		w.due[p] = retryAt
	}
}

// takeDue returns the partitions due at now and the earliest due time of
// the others (0 if none).
func (w *watermarks) takeDue(now int64) (due []int, next int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for p, d := range w.due {
		switch {
		case d == 0:
		case d <= now:
			due = append(due, p)
		case next == 0 || d < next:
			next = d
		}
	}
	return due, next
}

// expect notes heads an origin reported at at (unix ns, taken before the
// request): once every partition has applied up to them, confirm returns
// at. The oldest unconfirmed heads are kept, so constant writes cannot
// keep pushing the confirmation away.
func (w *watermarks) expect(heads []uint64, at int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.known || w.pendAt != 0 || len(heads) != len(w.last) {
		return
	}
	copy(w.pend, heads)
	w.pendAt = at
}

// confirm returns the time of the expected heads once every partition
// has applied up to them (and forgets them), else 0.
func (w *watermarks) confirm() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pendAt == 0 {
		return 0
	}
	for p, h := range w.pend {
		if w.last[p] < h {
			return 0
		}
	}
	at := w.pendAt
	w.pendAt = 0
	return at
}

// snapshot copies every partition's last applied seq into dst (grown to
// the partition count) and returns it.
func (w *watermarks) snapshot(dst []uint64) []uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append(dst[:0], w.last...)
}
