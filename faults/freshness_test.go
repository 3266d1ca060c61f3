package faults

import (
	"slices"
	"sort"
	"sync"
	"time"
)

// acks records, per path, every acknowledged write: the version it made
// and when the writer got the answer.
type acks struct {
	mu sync.Mutex
	by map[string][]ack
}

type ack struct {
	version uint64
	at      time.Time
}

func newAcks() *acks { return &acks{by: map[string][]ack{}} }

func (a *acks) add(path string, v uint64, at time.Time) {
	a.mu.Lock()
	a.by[path] = append(a.by[path], ack{v, at})
	a.mu.Unlock()
}

func (a *acks) last(path string) uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	l := a.by[path]
	if len(l) == 0 {
		return 0
	}
	return l[len(l)-1].version
}

// obsoleteSince is when a version newer than v of path was first
// acknowledged; ok is false if none was.
func (a *acks) obsoleteSince(path string, v uint64) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	l := a.by[path]
	i := sort.Search(len(l), func(i int) bool { return l[i].version > v })
	if i == len(l) {
		return time.Time{}, false
	}
	return l[i].at, true
}

// observed is one answer an edge served.
type observed struct {
	edge    int
	path    string
	start   time.Time
	version uint64
}

// freshness is what a set of reads says against the acknowledged writes.
type freshness struct {
	reads       int
	staleAfter  int // answers older than a write acknowledged more than the bound before the read began
	regressions int // answers older than one the same edge served before
	maxStale    time.Duration
	p99Stale    time.Duration // over the answers that were stale at all
	staleReads  int
	maxByEdge   map[int]time.Duration
}

// judge compares reads with acks. A read is stale by how long before it
// started a newer version had been acknowledged (the start, not the end,
// so a read that waited on a paused process is not blamed for the wait).
func judge(obs []observed, a *acks, bound time.Duration) freshness {
	f := freshness{maxByEdge: map[int]time.Duration{}}
	var stale []time.Duration
	seen := map[[2]any]uint64{}
	for _, o := range obs {
		f.reads++
		k := [2]any{o.edge, o.path}
		if o.version < seen[k] {
			f.regressions++
		}
		seen[k] = max(seen[k], o.version)
		at, ok := a.obsoleteSince(o.path, o.version)
		if !ok || !o.start.After(at) {
			continue
		}
		d := o.start.Sub(at)
		stale = append(stale, d)
		f.maxStale = max(f.maxStale, d)
		f.maxByEdge[o.edge] = max(f.maxByEdge[o.edge], d)
		if d > bound {
			f.staleAfter++
		}
	}
	f.staleReads = len(stale)
	if len(stale) > 0 {
		slices.Sort(stale)
		f.p99Stale = stale[min(len(stale)-1, len(stale)*99/100)]
	}
	return f
}
