package bench

import (
	"sync/atomic"
	"time"
)

// freshness remembers, for every key, the newest version a write was
// acknowledged with and when: what a read may be checked against. It is
// lock-free: reads check it on every answer.
type freshness struct {
	slots [2][]freshSlot // by keyKind
}

type freshSlot struct {
	version atomic.Uint64
	ackedAt atomic.Int64 // unix nanos
}

func newFreshness(links, skus int) *freshness {
	return &freshness{slots: [2][]freshSlot{make([]freshSlot, links), make([]freshSlot, skus)}}
}

// ack records that a write of key i was acknowledged at at with version v.
// The time is stored before the version, and read after it, so a reader
// that sees a version never pairs it with an older time than its own
// write's: a mistake can only be a stale read missed, never one invented.
func (f *freshness) ack(kind keyKind, i int, v uint64, at time.Time) {
	s := &f.slots[kind][i]
	for {
		cur := s.version.Load()
		if v <= cur {
			return
		}
		s.ackedAt.Store(at.UnixNano())
		if s.version.CompareAndSwap(cur, v) {
			return
		}
	}
}

// stale reports whether an answer with version served, to a read sent at
// sent, is older than a write acknowledged more than bound before sent.
func (f *freshness) stale(kind keyKind, i int, served uint64, sent time.Time, bound time.Duration) bool {
	s := &f.slots[kind][i]
	v := s.version.Load()
	if served >= v {
		return false
	}
	return sent.Sub(time.Unix(0, s.ackedAt.Load())) > bound
}
