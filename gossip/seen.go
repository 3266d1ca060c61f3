package gossip

import "sync"

// versionCache remembers the newest version seen per key, in bounded memory.
//
// It decides both delivery (only a newer version reaches the Handler) and
// relaying (only a newer version is re-broadcast), so it must be exact for
// recent keys and may forget old ones. Two generations give that at O(1)
// per call with no per-entry bookkeeping: lookups check the current map and
// then the previous one (promoting a hit); when the current map fills, it
// becomes the previous one and the old previous is dropped. A forgotten key
// costs at most one redundant delivery and relay of a version already seen,
// which receivers tolerate because they compare versions themselves.
type versionCache struct {
	mu       sync.Mutex
	capacity int
	cur, old map[string]uint64
}

func newVersionCache(capacity int) *versionCache {
	if capacity < 1 {
		capacity = 1
	}
	return &versionCache{capacity: capacity, cur: make(map[string]uint64)}
}

// advance records version v for key and reports whether it is newer than
// anything recorded (or, with orEqual, at least as new). It never lowers a
// recorded version.
func (vc *versionCache) advance(key string, v uint64, orEqual bool) bool {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	prev, ok := vc.cur[key]
	if !ok {
		if prev, ok = vc.old[key]; ok {
			delete(vc.old, key)
			vc.putLocked(key, prev)
		}
	}
	if ok && (v < prev || v == prev && !orEqual) {
		return false
	}
	vc.putLocked(key, v)
	return true
}

// latest returns the newest version recorded for key.
func (vc *versionCache) latest(key string) (uint64, bool) {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	if v, ok := vc.cur[key]; ok {
		return v, true
	}
	v, ok := vc.old[key]
	return v, ok
}

// len returns how many keys are remembered.
func (vc *versionCache) len() int {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	return len(vc.cur) + len(vc.old)
}

func (vc *versionCache) putLocked(key string, v uint64) {
	if _, ok := vc.cur[key]; !ok && len(vc.cur) >= vc.capacity {
		vc.old = vc.cur
		vc.cur = make(map[string]uint64, vc.capacity/4)
	}
	vc.cur[key] = v
}
