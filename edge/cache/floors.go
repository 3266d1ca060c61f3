package cache

import (
	"sync"
	"sync/atomic"

	"github.com/shortstock/shortstock/internal/keys"
)

// floorShards spreads the floor map over independent locks and epochs, so
// an invalidation only makes the hits of 1/floorShards of the keys look up
// their floor again.
const floorShards = 256

// floors remembers, per key, the newest version an invalidation announced
// (the key's floor): an entry or a fill older than its floor is refused.
//
// It is bounded in time and size by generations: each shard has a current
// and a previous map, and rotates (dropping the previous one) when the
// current one is older than half the lifetime or holds its share of the
// size bound. A floor thus lives between lifetime/2 and lifetime, far longer
// than a fill can be in flight.
type floors struct {
	shards      [floorShards]floorShard
	halfLife    int64 // nanoseconds
	maxPerShard int
}

type floorShard struct {
	// epoch grows on every raise; see Entry.checked.
	epoch atomic.Uint64
	mu    sync.Mutex
	// cur and prev are indexed by kindIndex.
	cur, prev [2]map[string]uint64
	rotated   int64
	_         [64]byte // keep neighbouring shards' locks off one cache line
}

// dropped is a floor that fell out of the map; the cache re-checks the
// entry it guarded before forgetting it.
type dropped struct {
	kind    keys.Kind
	id      string
	version uint64
}

func kindIndex(k keys.Kind) int {
	if k == keys.KindStock {
		return 1
	}
	return 0
}

func kindOf(i int) keys.Kind {
	if i == 1 {
		return keys.KindStock
	}
	return keys.KindLink
}

func newFloors(lifetimeNanos int64, maxFloors int, now int64) *floors {
	f := &floors{halfLife: lifetimeNanos / 2, maxPerShard: max(1, maxFloors/floorShards/2)}
	for i := range f.shards {
		s := &f.shards[i]
		for k := range 2 {
			s.cur[k] = map[string]uint64{}
			s.prev[k] = map[string]uint64{}
		}
		s.rotated = now
	}
	return f
}

func (f *floors) shard(h uint64) *floorShard { return &f.shards[h%floorShards] }

// get returns the floor of a key given as bytes (0 when none is known).
// The map lookups with string(id) do not allocate.
func (s *floorShard) get(kind keys.Kind, id []byte) uint64 {
	k := kindIndex(kind)
	s.mu.Lock()
	v, ok := s.cur[k][string(id)]
	if !ok {
		v = s.prev[k][string(id)]
	}
	s.mu.Unlock()
	return v
}

// getString is get for a string id.
func (s *floorShard) getString(kind keys.Kind, id string) uint64 {
	k := kindIndex(kind)
	s.mu.Lock()
	v, ok := s.cur[k][id]
	if !ok {
		v = s.prev[k][id]
	}
	s.mu.Unlock()
	return v
}

// raise sets the floor of a key to version unless it already is as high,
// and reports whether it rose. It bumps the shard epoch either way after the
// write, so a hit that compared its entry's epoch before the raise looks the
// floor up again. Floors rotated out are returned for the caller to sweep.
func (s *floorShard) raise(f *floors, kind keys.Kind, id string, version uint64, now int64) (rose bool, out []dropped) {
	k := kindIndex(kind)
	s.mu.Lock()
	cur, ok := s.cur[k][id]
	if !ok {
		cur = s.prev[k][id]
	}
	if version > cur {
		rose = true
		if now-s.rotated > f.halfLife || len(s.cur[0])+len(s.cur[1]) >= f.maxPerShard {
			out = s.rotateLocked(now)
		}
		s.cur[k][id] = version
	}
	s.epoch.Add(1)
	s.mu.Unlock()
	return rose, out
}

func (s *floorShard) rotateLocked(now int64) []dropped {
	var out []dropped
	for k := range 2 {
		for id, v := range s.prev[k] {
			if _, kept := s.cur[k][id]; !kept {
				out = append(out, dropped{kindOf(k), id, v})
			}
		}
		s.prev[k] = s.cur[k]
		s.cur[k] = make(map[string]uint64, len(s.prev[k]))
	}
	s.rotated = now
	return out
}

// len returns the number of floors held (for tests and metrics).
func (f *floors) len() int {
	n := 0
	for i := range f.shards {
		s := &f.shards[i]
		s.mu.Lock()
		for k := range 2 {
			n += len(s.cur[k])
			for id := range s.prev[k] {
				if _, dup := s.cur[k][id]; !dup {
					n++
				}
			}
		}
		s.mu.Unlock()
	}
	return n
}
