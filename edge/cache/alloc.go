package cache

import "unsafe"

// entrySize is unsafe.Sizeof(Entry{}); TestEntryLayout keeps it honest.
const entrySize = 40

// inlineTails are the byte tails allocEntry places behind an Entry: each
// makes entrySize+tail one of Go's malloc size classes (48, 64, ... 240
// bytes), so the object wastes nothing to rounding and the answer's bytes
// share its cache lines. Larger answers get a buffer of their own.
var inlineTails = [...]int{8, 24, 40, 56, 72, 88, 104, 120, 136, 152, 168, 184, 200}

// allocEntry returns a zero Entry and an empty buffer with room for n
// bytes: for n up to the last inline tail, one allocation holding both
// (the buffer is a field of the same object, right behind the Entry:
// Entry.buf finds it there); beyond, two, with the buffer's slice header
// behind the Entry (which keeps it alive) and n set to outOfLine. The
// caller fills the buffer in place and hands it to setBuf.
func allocEntry(n int) (*Entry, []byte) {
	switch {
	case n <= 8:
		o := new(struct {
			e    Entry
			tail [8]byte
		})
		return &o.e, o.tail[:0:n]
	case n <= 24:
		o := new(struct {
			e    Entry
			tail [24]byte
		})
		return &o.e, o.tail[:0:n]
	case n <= 40:
		o := new(struct {
			e    Entry
			tail [40]byte
		})
		return &o.e, o.tail[:0:n]
	case n <= 56:
		o := new(struct {
			e    Entry
			tail [56]byte
		})
		return &o.e, o.tail[:0:n]
	case n <= 72:
		o := new(struct {
			e    Entry
			tail [72]byte
		})
		return &o.e, o.tail[:0:n]
	case n <= 88:
		o := new(struct {
			e    Entry
			tail [88]byte
		})
		return &o.e, o.tail[:0:n]
	case n <= 104:
		o := new(struct {
			e    Entry
			tail [104]byte
		})
		return &o.e, o.tail[:0:n]
	case n <= 120:
		o := new(struct {
			e    Entry
			tail [120]byte
		})
		return &o.e, o.tail[:0:n]
	case n <= 136:
		o := new(struct {
			e    Entry
			tail [136]byte
		})
		return &o.e, o.tail[:0:n]
	case n <= 152:
		o := new(struct {
			e    Entry
			tail [152]byte
		})
		return &o.e, o.tail[:0:n]
	case n <= 168:
		o := new(struct {
			e    Entry
			tail [168]byte
		})
		return &o.e, o.tail[:0:n]
	case n <= 184:
		o := new(struct {
			e    Entry
			tail [184]byte
		})
		return &o.e, o.tail[:0:n]
	case n <= 200:
		o := new(struct {
			e    Entry
			tail [200]byte
		})
		return &o.e, o.tail[:0:n]
	}
	o := new(struct {
		e Entry
		b []byte
	})
	o.e.n, o.b = outOfLine, make([]byte, 0, n)
	return &o.e, o.b
}

// setBuf records the bytes allocEntry's buffer was filled with: b is that
// buffer, grown in place.
func (e *Entry) setBuf(b []byte) {
	if e.n == outOfLine {
		*(*[]byte)(unsafe.Add(unsafe.Pointer(e), entrySize)) = b
		return
	}
	e.n = uint8(len(b))
}

// entryBytes is the memory allocEntry(n) takes: exact for inline tails,
// rounded to 16 bytes (as Go's size classes up to 256 bytes are; larger
// ones waste at most 12.5 %) beyond.
func entryBytes(n int) int64 {
	for _, t := range inlineTails {
		if n <= t {
			return int64(entrySize + t)
		}
	}
	return int64(entrySize+24+15)&^15 + int64(n+15)&^15
}
