package bench

// CacheState is what an edge's X-Cache header said about one answer.
type CacheState uint8

// Cache states; CacheNone is an answer without X-Cache (writes, the bare
// server, errors).
const (
	CacheNone CacheState = iota
	CacheHit
	CacheMiss
	CacheStale
	numCacheStates
)

// String names the state as the reports do: "hit", "miss", "stale", "none".
func (c CacheState) String() string {
	switch c {
	case CacheHit:
		return "hit"
	case CacheMiss:
		return "miss"
	case CacheStale:
		return "stale"
	}
	return "none"
}

// Outcome is how one operation went. The zero Outcome is a success that
// says nothing about caching.
type Outcome struct {
	// Err is the kind of failure ("read_timeout", "patch_status_503", ...);
	// empty when the answer was one of those expected.
	Err string
	// Cache is the X-Cache state of a read.
	Cache CacheState
	// Rejected marks an expected refusal (409 insufficient_stock): the
	// system said no correctly, which is neither a success nor an error.
	Rejected bool
	// Stale marks a read that returned a version older than one
	// acknowledged longer than the staleness bound before it was sent.
	Stale bool
}

func cacheState(h []byte) CacheState {
	switch string(h) { // the compiler does not allocate for this conversion
	case "HIT":
		return CacheHit
	case "MISS":
		return CacheMiss
	case "STALE":
		return CacheStale
	}
	return CacheNone
}
