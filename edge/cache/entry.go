package cache

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
)

// Entry is one cached answer, rendered once so that serving it only copies
// bytes. A Loader fills the exported fields; the cache owns the rest. After
// Load returns, an Entry is read-only except for its atomic counters.
//
// The fields a hit reads come first, so that with the answer's bytes (one
// allocation, see seal) a hit touches few cache lines: with many keys the
// cost of a hit is mostly memory misses.
type Entry struct {
	// Kind and ID name the key: a link code or a SKU.
	Kind keys.Kind
	// Negative marks a cached "not found".
	Negative bool
	// Status is the HTTP status to answer with (a redirect, 200 or 404).
	Status int
	// Version is the key's version at the origin (a 404's is its
	// tombstone's, 0 if it never existed).
	Version uint64

	// check is a second hash of the key, independent of the one ristretto
	// indexes by: with both equal the entry is the key's, without reading
	// ID (another allocation, another cache miss).
	check     uint64
	partition int
	// gen is the partition generation the fill started in (see DropPartition).
	gen uint64
	// freshUntil and staleUntil are unix nanoseconds of the cache's clock.
	freshUntil int64
	staleUntil int64
	// checked is the floor-shard epoch at which the entry was last found
	// not to be older than its key's floor; while the epoch is unchanged
	// no invalidation touched the shard and the floor lookup is skipped.
	checked atomic.Uint64
	// clicks and next belong to Clicks.
	clicks atomic.Int64

	// ContentType, Location and Body are the pre-rendered answer; empty
	// ones are not sent.
	ContentType []byte
	Location    []byte
	Body        []byte

	versionDigits []byte

	// ID is the code or SKU.
	ID string
	// TTL is how long the entry is fresh; past it the cache refreshes it.
	// An entry with TTL <= 0 is served once and not cached.
	TTL time.Duration
	// NotAfter, when set, is a hard end: a link's expires_at. The entry is
	// never served after it, not even stale.
	NotAfter time.Time

	hash uint64
	next atomic.Pointer[Entry]
}

// entryOverhead approximates the memory an entry costs besides its byte
// slices: the struct, the ID's header and ristretto's own bookkeeping.
const entryOverhead = 256

// VersionBytes returns Version in decimal, rendered once, for X-Version.
func (e *Entry) VersionBytes() []byte { return e.versionDigits }

// Partition returns the keys.Partition of the entry's key.
func (e *Entry) Partition() int { return e.partition }

// FreshUntil returns when the entry stops being fresh.
func (e *Entry) FreshUntil() time.Time { return time.Unix(0, e.freshUntil) }

// cost is what the entry counts against the memory budget.
func (e *Entry) cost() int64 {
	return int64(entryOverhead + len(e.ID) + len(e.ContentType) + len(e.Location) + len(e.Body) + len(e.versionDigits))
}

// seal fills in what the cache derives from a freshly loaded entry, and
// copies the answer's bytes (version digits, Location, Body) into one
// allocation, so a hit reads them from neighbouring cache lines.
func (e *Entry) seal(now time.Time, grace time.Duration, gen, epoch uint64) {
	buf := make([]byte, 0, 20+len(e.Location)+len(e.Body))
	buf = strconv.AppendUint(buf, e.Version, 10)
	e.versionDigits = buf[:len(buf):len(buf)]
	e.Location = appendPart(&buf, e.Location)
	e.Body = appendPart(&buf, e.Body)
	e.hash = hashKey(e.Kind, e.ID)
	e.check = checkString(e.ID)
	e.partition = keys.Partition(e.Kind, e.ID)
	e.freshUntil = now.Add(e.TTL).UnixNano()
	e.staleUntil = now.Add(e.TTL + grace).UnixNano()
	if !e.NotAfter.IsZero() {
		na := e.NotAfter.UnixNano()
		e.freshUntil = min(e.freshUntil, na)
		e.staleUntil = min(e.staleUntil, na)
	}
	e.gen = gen
	e.checked.Store(epoch)
}

// appendPart appends b to *buf (which has the room) and returns the copy,
// capped so that nobody can append into the next part; nil stays nil.
func appendPart(buf *[]byte, b []byte) []byte {
	if b == nil {
		return nil
	}
	start := len(*buf)
	*buf = append(*buf, b...)
	return (*buf)[start:len(*buf):len(*buf)]
}

// is reports whether the entry is the one for kind and an id whose check
// hash is check (the caller's h, equal by ristretto's lookup, is the other).
func (e *Entry) is(kind keys.Kind, check uint64) bool {
	return e.Kind == kind && e.check == check
}
