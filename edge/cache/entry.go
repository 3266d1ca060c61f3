package cache

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/shortstock/shortstock/internal/keys"
)

// Answer is what a Loader found for a key; NewEntry renders it into an
// Entry. Its byte slices are copied, so they may be buffers the caller
// reuses afterwards.
type Answer struct {
	// Kind and ID name the key: a link code or a SKU (at most maxIDLen
	// bytes).
	Kind keys.Kind
	ID   string
	// Negative marks a cached "not found".
	Negative bool
	// Status is the HTTP status to answer with (a redirect, 200 or 404).
	Status int
	// Version is the key's version at the origin (a 404's is its
	// tombstone's, 0 if it never existed).
	Version uint64
	// TTL is how long the entry is fresh; past it the cache refreshes it.
	// An entry with TTL <= 0 is served once and not cached.
	TTL time.Duration
	// NotAfter, when set, is a hard end: a link's expires_at. The entry is
	// never served after it, not even stale.
	NotAfter time.Time
	// ContentType (at most maxContentTypeLen bytes), Location and Body are
	// the answer; empty ones are not sent. An answer has a Location or a
	// Body, not both: the edge's redirects carry no body.
	ContentType []byte
	Location    string
	Body        []byte
	// Bounded marks a link whose redirect may change or end on its own (an
	// expiry, a visit limit, or ever edited): the edge does not let
	// browsers keep it as a permanent redirect (see the edge's
	// cacheheaders.go).
	Bounded bool
	// Ext is opaque bytes the caller keeps with the entry (the edge's
	// per-link features: device targets, query forwarding, visit limits),
	// read back with Entry.Ext. Empty for nearly every entry, which then
	// pays nothing for it.
	Ext []byte
}

// Limits of what an Entry stores in its one-byte lengths.
const (
	maxIDLen          = math.MaxUint8
	maxContentTypeLen = math.MaxUint8
)

// Entry.partition is a uint16.
const _ = uint16(keys.MaxPartitions - 1)

// jsonType is the Content-Type nearly every body has: an entry that has it
// points here instead of storing a copy.
var jsonType = []byte("application/json")

// Entry is one cached answer, rendered once by NewEntry so that serving it
// only copies bytes. It is read-only once built, except for the cache's
// atomic counters.
//
// It is laid out for memory, since an edge keeps a million of them: 40
// bytes of fixed fields, and the answer's bytes (buf) right behind them in
// the same allocation (see allocEntry), so that a link with a ~45-byte URL
// is one 96-byte object, and a hit reads two neighbouring cache lines.
// What can be derived is not stored: the bytes' address is the entry's
// plus entrySize, the version is parsed back from its digits (off the hit
// path), the key's hash is recomputed, and the key is told apart from
// others sharing its 64-bit hash by comparing the id bytes, not a second
// hash.
//
// Because its bytes sit at a fixed offset from it, an Entry is never
// copied by value nor made but by allocEntry.
type Entry struct {
	// freshUntil is unix nanoseconds of the cache's clock. Until seal, it
	// holds the TTL.
	freshUntil int64
	// next belongs to Clicks.
	next atomic.Pointer[Entry]
	// checked is the floor-shard epoch at which the entry was last found
	// not to be older than its key's floor; while the epoch is unchanged
	// no invalidation touched the shard and the floor lookup is skipped.
	//
	// The low 32 bits of the epoch: it would take 2^32 raises of one
	// shard between two lookups of the entry to mistake an old epoch for
	// the current one. Until seal, it holds the low half of NotAfter.
	checked atomic.Uint32
	// clicks belongs to Clicks. 32 bits: it holds one flush interval's
	// clicks on one key (the edge drains it every second), far below 2^31.
	clicks atomic.Int32
	// staleMillis is how long past freshUntil the entry may still be
	// served, in milliseconds, rounded down and capped at 2^32-1 (~49
	// days), so never later than the real end. A filled entry's is at
	// most the cache's StaleGrace, which Config validation caps at
	// maxStaleGrace. Until seal, it holds the high half of NotAfter.
	staleMillis uint32
	// statusVer is the status (10 bits: 100-999) and, above it, the
	// length of the version's digits (5 bits: at most 20); packed so the
	// partition (16 bits) fits without growing the Entry.
	statusVer uint16
	partition uint16
	// gen is the low 16 bits of the partition generation the fill started
	// in (see DropPartition): it would take 65 536 drops of one partition
	// during one entry's life to mistake an old generation for the
	// current one.
	gen   uint16
	kind  keys.Kind
	flags uint8
	idLen uint8
	ctLen uint8
	// n is the length of the bytes behind the entry, or outOfLine when
	// they did not fit there and a slice header stands there instead.
	n uint8
}

// outOfLine in Entry.n marks bytes in a buffer of their own (allocEntry).
const outOfLine = math.MaxUint8

// maxStaleGrace is the longest StaleGrace an Entry's staleMillis holds.
const maxStaleGrace = 30 * 24 * time.Hour

const (
	flagNegative   uint8 = 1 << iota
	flagLocation         // the payload is the Location (else the Body)
	flagJSON             // the Content-Type is jsonType
	flagCustomType       // the Content-Type ends buf
	flagUnsealed         // built by NewEntry, not yet sealed by the cache
	flagBounded          // Answer.Bounded
	flagNotAfter         // Answer.NotAfter was set: staleUntil is a hard end
	flagExt              // buf ends with Answer.Ext and its length (extLenBytes, big-endian)
)

// extLenBytes is the size of the length that ends buf when flagExt is set.
const extLenBytes = 4

// ristrettoItemBytes is what ristretto spends per item (a bucket of
// entries, see items.go) besides our objects: its store's map slot (key,
// conflict, an 8-byte value and a 24-byte expiration time.Time: 56 bytes
// and a control byte) and its policy's key-to-cost map slot (16 bytes and
// a control byte), at the load of Go's maps, which swings between 7/16
// and 7/8 as they grow. 172 is what 1 M items with a pointer value
// measured (134 + 38), near the worst load: the budget errs on the side
// of using less memory than MaxCostBytes. A bucket's value is 16 bytes
// (items.go), 8 more than a pointer; bucketBytes charges 16.
const ristrettoItemBytes = 172

// NewEntry renders an answer into an Entry, in one allocation when it is
// small. It copies everything it keeps.
func NewEntry(a Answer) (*Entry, error) {
	switch {
	case len(a.ID) > maxIDLen:
		return nil, fmt.Errorf("%w: id of %d bytes, at most %d", ErrBadAnswer, len(a.ID), maxIDLen)
	case len(a.ContentType) > maxContentTypeLen:
		return nil, fmt.Errorf("%w: Content-Type of %d bytes, at most %d", ErrBadAnswer, len(a.ContentType), maxContentTypeLen)
	case a.Location != "" && len(a.Body) > 0:
		return nil, fmt.Errorf("%w: both a Location and a Body", ErrBadAnswer)
	case a.Status < 100 || a.Status > 999:
		return nil, fmt.Errorf("%w: status %d", ErrBadAnswer, a.Status)
	case len(a.Ext) > 1<<20:
		return nil, fmt.Errorf("%w: ext of %d bytes", ErrBadAnswer, len(a.Ext))
	}
	var digits [20]byte
	ver := strconv.AppendUint(digits[:0], a.Version, 10)
	flags := flagUnsealed
	if a.Negative {
		flags |= flagNegative
	}
	if a.Location != "" {
		flags |= flagLocation
	}
	if a.Bounded {
		flags |= flagBounded
	}
	if !a.NotAfter.IsZero() {
		flags |= flagNotAfter
	}
	extSize := 0
	if len(a.Ext) > 0 {
		flags |= flagExt
		extSize = len(a.Ext) + extLenBytes
	}
	ct := a.ContentType
	switch {
	case len(ct) == 0:
	case bytes.Equal(ct, jsonType):
		flags |= flagJSON
		ct = nil
	default:
		flags |= flagCustomType
	}
	e, buf := allocEntry(len(ver) + len(a.ID) + len(a.Location) + len(a.Body) + len(ct) + extSize)
	buf = append(buf, ver...)
	buf = append(buf, a.ID...)
	buf = append(buf, a.Location...)
	buf = append(buf, a.Body...)
	buf = append(buf, ct...)
	if extSize > 0 {
		buf = append(buf, a.Ext...)
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(a.Ext)))
	}
	e.setBuf(buf)
	e.statusVer = uint16(a.Status) | uint16(len(ver))<<10
	e.kind = a.Kind
	e.flags = flags
	e.idLen, e.ctLen = uint8(len(a.ID)), uint8(len(ct))
	e.freshUntil = int64(a.TTL)
	notAfter := int64(math.MaxInt64)
	if !a.NotAfter.IsZero() {
		notAfter = a.NotAfter.UnixNano()
	}
	e.setNotAfter(notAfter)
	return e, nil
}

// buf returns the entry's bytes: behind it in the same object, or, when
// they did not fit there, in the buffer the slice header behind it points
// to (allocEntry).
func (e *Entry) buf() []byte {
	behind := unsafe.Add(unsafe.Pointer(e), entrySize)
	if e.n == outOfLine {
		return *(*[]byte)(behind)
	}
	return unsafe.Slice((*byte)(behind), e.n)
}

// bufLen is len(e.buf()).
func (e *Entry) bufLen() int { return len(e.buf()) }

// staleUntil is the unix nanoseconds from which the entry is never served
// again.
func (e *Entry) staleUntil() int64 {
	return e.freshUntil + int64(e.staleMillis)*int64(time.Millisecond)
}

// setNotAfter and notAfter keep an unsealed entry's NotAfter (unix
// nanoseconds, math.MaxInt64 if none) in staleMillis and checked, which
// only seal gives their meaning.
func (e *Entry) setNotAfter(t int64) {
	e.staleMillis = uint32(uint64(t) >> 32)
	e.checked.Store(uint32(t))
}

func (e *Entry) notAfter() int64 { return int64(uint64(e.staleMillis)<<32 | uint64(e.checked.Load())) }

// Kind returns the kind of the entry's key.
func (e *Entry) Kind() keys.Kind { return e.kind }

// idString is the entry's id as a string that shares the entry's bytes:
// no allocation, and it keeps the entry alive while it is held. Safe
// because an entry's bytes never change once built and entries are never
// reused (allocEntry always allocates). Clicks.Drain keys its counts by
// it, tens of thousands of codes a second on a busy edge.
func (e *Entry) idString() string {
	id := e.id()
	if len(id) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(id), len(id))
}

// ID returns the entry's code or SKU. It allocates: not for the hit path.
func (e *Entry) ID() string { return string(e.id()) }

func (e *Entry) id() []byte {
	start := e.verLen()
	end := start + int(e.idLen)
	return e.buf()[start:end:end]
}

// Status returns the HTTP status to answer with.
func (e *Entry) Status() int { return int(e.statusVer & 0x3ff) }

// verLen is the length of the version's digits at the start of buf.
func (e *Entry) verLen() int { return int(e.statusVer >> 10) }

// Negative reports whether the entry is a cached "not found".
func (e *Entry) Negative() bool { return e.flags&flagNegative != 0 }

// VersionBytes returns the version in decimal, rendered once, for X-Version.
func (e *Entry) VersionBytes() []byte { return e.buf()[:e.verLen():e.verLen()] }

// Version returns the key's version at the origin. It is parsed back from
// VersionBytes (digits NewEntry wrote), which saves 8 bytes per entry; the
// hit path reads it only when an invalidation touched the key's floor
// shard.
func (e *Entry) Version() uint64 {
	var v uint64
	for _, d := range e.buf()[:e.verLen()] {
		v = v*10 + uint64(d-'0')
	}
	return v
}

// end is where the Content-Type ends: the end of buf, or of what is
// before the Ext.
func (e *Entry) end() int {
	if e.flags&flagExt == 0 {
		return len(e.buf())
	}
	n := len(e.buf()) - extLenBytes
	return n - int(binary.BigEndian.Uint32(e.buf()[n:]))
}

// Ext returns Answer.Ext, nil if it was empty.
func (e *Entry) Ext() []byte {
	if e.flags&flagExt == 0 {
		return nil
	}
	end := len(e.buf()) - extLenBytes
	return e.buf()[e.end():end:end]
}

// HasExt reports whether the entry has an Ext.
func (e *Entry) HasExt() bool { return e.flags&flagExt != 0 }

// payload returns the Location or the Body.
func (e *Entry) payload() []byte {
	start := e.verLen() + int(e.idLen)
	end := e.end() - int(e.ctLen)
	return e.buf()[start:end:end]
}

// Location returns the Location header's value, nil if none.
func (e *Entry) Location() []byte {
	if e.flags&flagLocation == 0 {
		return nil
	}
	return e.payload()
}

// Body returns the body, nil if none.
func (e *Entry) Body() []byte {
	if e.flags&flagLocation != 0 || e.end() == e.verLen()+int(e.idLen)+int(e.ctLen) {
		return nil
	}
	return e.payload()
}

// ContentType returns the Content-Type, nil if none.
func (e *Entry) ContentType() []byte {
	switch {
	case e.flags&flagJSON != 0:
		return jsonType[:len(jsonType):len(jsonType)]
	case e.flags&flagCustomType != 0:
		end := e.end()
		return e.buf()[end-int(e.ctLen) : end : end]
	}
	return nil
}

// Bounded reports Answer.Bounded.
func (e *Entry) Bounded() bool { return e.flags&flagBounded != 0 }

// HardEnd returns, for an entry whose answer had a NotAfter, the unix
// nanoseconds past which the cache never serves it (at or before
// NotAfter), and 0 for an entry without one.
func (e *Entry) HardEnd() int64 {
	if e.flags&flagNotAfter == 0 {
		return 0
	}
	return e.staleUntil()
}

// Partition returns the partition of the entry's key (Attrs.Partition).
func (e *Entry) Partition() int { return int(e.partition) }

// FreshUntil returns when the entry stops being fresh.
func (e *Entry) FreshUntil() time.Time { return time.Unix(0, e.freshUntil) }

// seal fills in the deadlines from the TTL and NotAfter that NewEntry left
// in their fields, and the generation and epoch of the fill.
func (e *Entry) seal(now time.Time, grace time.Duration, gen uint32, epoch uint64) {
	ttl, notAfter := time.Duration(e.freshUntil), e.notAfter()
	e.freshUntil = min(now.Add(ttl).UnixNano(), notAfter)
	e.setStaleUntil(min(now.Add(ttl+grace).UnixNano(), notAfter))
	e.gen = uint16(gen)
	e.checked.Store(uint32(epoch))
	e.flags &^= flagUnsealed
}

// setStaleUntil sets staleUntil to t rounded down to a millisecond past
// freshUntil and capped (so never later than t), and to freshUntil when
// t is not after it.
func (e *Entry) setStaleUntil(t int64) {
	d := max(t-e.freshUntil, 0) / int64(time.Millisecond)
	e.staleMillis = uint32(min(d, math.MaxUint32))
}

// is reports whether the entry is the one for kind and id. Comparing the
// id itself (bytes that a hit reads next anyway, in the same object) rules
// out keys that merely share the 64-bit hash ristretto indexes by.
func (e *Entry) is(kind keys.Kind, id []byte) bool {
	return e.kind == kind && string(e.id()) == string(id)
}

// same reports whether two entries are for the same key.
func (e *Entry) same(o *Entry) bool { return e.is(o.kind, o.id()) }
