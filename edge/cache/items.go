package cache

import (
	"math"
	"sync"
	"unsafe"

	"github.com/dgraph-io/ristretto/v2"
)

// Keys share ristretto items. ristretto's bookkeeping for one item (its
// store's map slot, its policy's cost map slot: ristrettoItemBytes) costs
// more than a cached redirect itself, so at a million links it was half
// the edge's memory. A ristretto item here is a bucket: the entries of the
// keys whose hashes share their high bits, KeysPerItem of them on average
// when the budget is full. Each key then pays a 16-byte slot in its
// bucket and a share of the bucket's bookkeeping.
//
// What it costs: ristretto admits and evicts buckets, by the bucket's
// frequency (the sum of its keys' hits), so a cold key rides along with a
// hot neighbour and a hot key can go out with cold ones. A hit scans its
// bucket's slots (a few uint64 compares) after ristretto's lookup.
//
// Readers never lock. Writers of a bucket hold its stripe lock (so changes
// to one bucket do not lose each other's keys) and Set a new bucket value:
// a slot a reader may see is never written again, so a changed or removed
// key gets a new slot array, and a key added where the array has room
// goes in past the end of the slots the old value shows. ristretto holds
// the bucket by value (its packed slice in the store's slot), so adding a
// key allocates nothing until the array is full, and then an array twice
// as large: a fill's garbage would otherwise stay scattered among the
// entries' pages.

// slot is one key's place in a bucket.
type slot struct {
	h uint64 // the key's hash (hashBytes)
	e *Entry
}

// bucket is one ristretto item: its slots, a slice packed into 16 bytes
// (a pointer and two 32-bit lengths) instead of a 24-byte slice header.
// Besides the 8 bytes this saves in ristretto's store slot, it keeps the
// Item ristretto allocates for every Set (88 bytes with a slice value) out
// of the 96-byte size class of a link's Entry: a fill's dead Items would
// otherwise stay scattered among the entries, keeping a fifth more pages
// in use than the entries need.
type bucket struct {
	p    *slot // the array's first slot; nil for no array
	n, c uint32
}

// bucketOf packs s into a bucket.
func bucketOf(s []slot) bucket {
	return bucket{p: unsafe.SliceData(s), n: uint32(len(s)), c: uint32(cap(s))}
}

// slots returns the bucket's slots (with the array's capacity).
func (b bucket) slots() []slot {
	if b.p == nil {
		return nil
	}
	return unsafe.Slice(b.p, b.c)[:b.n]
}

// find returns the index of the slot for hash h, or -1.
func (b bucket) find(h uint64) int {
	slots := b.slots()
	for i := range slots {
		if slots[i].h == h {
			return i
		}
	}
	return -1
}

// items is the cache's store: buckets of entries in ristretto.
type items struct {
	rc      *ristretto.Cache[uint64, bucket]
	shift   uint // a key's bucket is its hash's top 64-shift bits (64: one bucket)
	perItem int  // Config.KeysPerItem
	locks   [64]sync.Mutex
}

// bucketBits is the number of hash bits that pick a bucket for a budget of
// MaxCostBytes at keysPerItem keys per item: the bucket count is the power
// of two nearest (in ratio) to the budget's typical entries over
// keysPerItem, so a full budget holds 0.7 to 1.4 x keysPerItem keys a
// bucket, and a budget that is half used half as many.
func bucketBits(maxCost int64, keysPerItem int) uint {
	if keysPerItem <= 1 {
		return 64 // every key a bucket of its own
	}
	n := float64(maxCost) / float64(typicalEntryCost(keysPerItem)) / float64(keysPerItem)
	if n < 1.5 {
		return 0
	}
	return uint(math.Round(math.Log2(n)))
}

// key is the ristretto key of hash h's bucket: its top bits, mixed
// (bijectively) so ristretto's shards and sketches see well-spread keys.
func (s *items) key(h uint64) uint64 { return (h >> s.shift) * 0x9e3779b97f4a7c15 }

func (s *items) lock(k uint64) *sync.Mutex { return &s.locks[k%uint64(len(s.locks))] }

// get returns the entry cached under hash h. It allocates nothing.
func (s *items) get(h uint64) (*Entry, bool) {
	b, _ := s.rc.Get(s.key(h))
	for _, sl := range b.slots() {
		if sl.h == h {
			return sl.e, true
		}
	}
	return nil, false
}

// set caches e under hash h, unless an entry of the same key at a newer
// version is cached (a key never goes back in time, whatever order fills
// land in). It reports whether e was stored; when it returns, e is
// visible to lookups (or was refused).
func (s *items) set(h uint64, e *Entry) bool {
	k := s.key(h)
	mu := s.lock(k)
	mu.Lock()
	defer mu.Unlock()
	oldBucket, had := s.rc.Get(k)
	old := oldBucket.slots()
	i := oldBucket.find(h)
	var ns []slot
	if i >= 0 {
		prev := old[i].e
		if prev.same(e) && e.Version() < prev.Version() {
			return false
		}
		ns = make([]slot, len(old), cap(old))
		copy(ns, old)
		ns[i].e = e
	} else {
		switch n := len(old); {
		case old == nil:
			// Room for two keys (32 bytes): a budget much larger than what
			// is cached leaves most buckets with one key or two.
			old = make([]slot, 0, min(2, s.perItem))
		case n == cap(old) && n < s.perItem:
			// Then room for a full bucket at once: the arrays a growing
			// bucket leaves behind are garbage that stays scattered among
			// live arrays and entries, keeping their pages resident.
			grown := make([]slot, n, s.perItem)
			copy(grown, old)
			old = grown
		case n == cap(old):
			// A bucket past its share grows by half, not double (append's
			// way): ~a third of the buckets of a full budget hold more
			// than KeysPerItem keys, and doubling left most of their
			// arrays' second halves empty. (The first growth, 8 -> 12 or
			// 16 -> 24 slots, lands exactly on a size class: 192 or 384 B.)
			grown := make([]slot, n, n+max(n/2, 1))
			copy(grown, old)
			old = grown
		}
		// append writes past the old value's slots, or copies to a new
		// array when there is no room.
		ns = append(old, slot{h: h, e: e})
	}
	nb := bucketOf(ns)
	cost := bucketCost(nb)
	if had && i < 0 && s.rc.RemainingCost() < cost-bucketCost(oldBucket) {
		// ristretto evicts only to make room for a new item, never for an
		// update that grows one: a bucket that gains a key with the budget
		// full is deleted and added again, which evicts (or, if it is
		// colder than what it would evict, is refused).
		s.rc.Del(k)
		had = false
	}
	if !s.rc.Set(k, nb, cost) {
		return false
	}
	if !had {
		// An existing bucket is replaced in place, at once; a new one
		// waits in ristretto's buffer. Wait for it under the lock: a
		// change to the bucket meanwhile would find no bucket and start
		// another, which ristretto would refuse (the key is taken by
		// then), losing that change's key.
		s.rc.Wait()
	}
	return true
}

// del drops the entry cached under hash h. With no bucket visible it
// deletes the bucket anyway: set waits for a new bucket under the lock,
// but an update whose bucket ristretto evicted between set's Get and its
// Set goes in as a new item, which may still sit in ristretto's buffer;
// a Del queued now is applied after it.
func (s *items) del(h uint64) {
	k := s.key(h)
	mu := s.lock(k)
	mu.Lock()
	defer mu.Unlock()
	old, ok := s.rc.Get(k)
	if !ok {
		s.rc.Del(k)
		return
	}
	i, slots := old.find(h), old.slots()
	switch {
	case i < 0:
	case len(slots) == 1:
		s.rc.Del(k)
	default:
		ns := make([]slot, 0, cap(slots))
		nb := bucketOf(append(append(ns, slots[:i]...), slots[i+1:]...))
		s.rc.Set(k, nb, bucketCost(nb))
	}
}

// each calls fn for every cached entry until it returns true. It holds a
// ristretto shard's lock while it calls fn: fn must not touch the cache.
func (s *items) each(fn func(h uint64, e *Entry) (stop bool)) {
	s.rc.IterValues(func(b bucket) bool {
		for _, sl := range b.slots() {
			if fn(sl.h, sl.e) {
				return true
			}
		}
		return false
	})
}

// sweep drops every entry that match selects, a bucket at a time.
func (s *items) sweep(match func(*Entry) bool) {
	var ks []uint64
	s.rc.IterValues(func(b bucket) bool {
		for _, sl := range b.slots() {
			if match(sl.e) {
				ks = append(ks, s.key(sl.h))
				break
			}
		}
		return false
	})
	for _, k := range ks {
		s.sweepBucket(k, match)
	}
}

func (s *items) sweepBucket(k uint64, match func(*Entry) bool) {
	mu := s.lock(k)
	mu.Lock()
	defer mu.Unlock()
	old, ok := s.rc.Get(k)
	if !ok {
		return
	}
	var ns []slot
	for _, sl := range old.slots() {
		if !match(sl.e) {
			ns = append(ns, sl)
		}
	}
	switch {
	case len(ns) == 0:
		s.rc.Del(k)
	case len(ns) < int(old.n):
		nb := bucketOf(ns)
		s.rc.Set(k, nb, bucketCost(nb))
	}
}

// bucketCost is what a bucket counts against the budget: its entries, its
// slots and ristretto's bookkeeping for the item.
func bucketCost(b bucket) int64 {
	c := ristrettoItemBytes + bucketBytes(int(b.c))
	for _, sl := range b.slots() {
		c += entryBytes(sl.e.bufLen())
	}
	return c
}

// bucketBytes is the memory of a bucket's slot array of n slots, rounded
// up as Go's size classes do (to 16 bytes up to 256, by at most 1/8
// beyond), and the 16 bytes the bucket value adds to ristretto's store
// slot.
func bucketBytes(n int) int64 {
	a := int64(16 * n)
	if a > 256 {
		a += a / 8
	}
	return 16 + a
}

// typicalEntryCost is the cost of one key that is a link with a ~45-byte
// URL (a 96-byte Entry) at keysPerItem keys per ristretto item: the
// entry, its slot and its share of its bucket's bookkeeping.
func typicalEntryCost(keysPerItem int) int64 {
	k := int64(max(keysPerItem, 1))
	return entrySize + 56 + 16 + (16+ristrettoItemBytes+k-1)/k
}
