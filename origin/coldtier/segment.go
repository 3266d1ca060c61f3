package coldtier

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"sort"

	"github.com/bits-and-blooms/bloom/v3"

	"github.com/shortstock/shortstock/origin/store"
)

// Segment layout (all integers big endian):
//
//	header   "SSCOLD1\n"
//	blocks   one per link, code order: u32 payload length | u32 crc32c(payload) | payload (JSON store.Link)
//	index    u32 count | count × (u16 code length | code | u64 offset | u32 block length)
//	         | u32 bloom length | bloom (bits-and-blooms binary)
//	trailer  u64 index offset | u32 index length | u32 crc32c(index) | "SSCOLDIX"
//
// Every record block and the index carry a CRC-32C; a block whose length or
// checksum does not match is ErrCorrupt and is never served.
const (
	headerMagic  = "SSCOLD1\n"
	trailerMagic = "SSCOLDIX"
	trailerLen   = 8 + 4 + 4 + 8
	blockHdrLen  = 8
	maxCodeLen   = 1 << 10
	maxBlockLen  = 1 << 24
)

// ErrCorrupt reports a segment that fails its checksums or framing.
var ErrCorrupt = errors.New("coldtier: corrupt segment")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Entry locates one link's record block inside a segment.
type Entry struct {
	Code   string
	Offset uint64
	Length uint32
}

// Index is a segment's in-memory index and filter.
type Index struct {
	Entries []Entry // sorted by Code
	Filter  *bloom.BloomFilter
}

// Find returns the entry for code. A code not in the filter is answered
// without looking at the entries; filterHit reports whether the filter said
// "maybe" (a hit with ok false is a Bloom false positive).
func (ix *Index) Find(code string) (e Entry, filterHit, ok bool) {
	if ix.Filter != nil && !ix.Filter.TestString(code) {
		return Entry{}, false, false
	}
	i := sort.Search(len(ix.Entries), func(i int) bool { return ix.Entries[i].Code >= code })
	if i < len(ix.Entries) && ix.Entries[i].Code == code {
		return ix.Entries[i], true, true
	}
	return Entry{}, true, false
}

// Encode builds a segment from links (any order; codes must be distinct).
func Encode(links []store.Link) ([]byte, *Index, error) {
	ls := append([]store.Link(nil), links...)
	sort.Slice(ls, func(i, j int) bool { return ls[i].Code < ls[j].Code })
	var buf bytes.Buffer
	buf.WriteString(headerMagic)
	n := uint(len(ls))
	if n == 0 {
		n = 1
	}
	ix := &Index{Filter: bloom.NewWithEstimates(n, 0.01)}
	for i, l := range ls {
		if i > 0 && ls[i-1].Code == l.Code {
			return nil, nil, fmt.Errorf("coldtier: duplicate code %q", l.Code)
		}
		if l.Code == "" || len(l.Code) > maxCodeLen {
			return nil, nil, fmt.Errorf("coldtier: bad code %q", l.Code)
		}
		p, err := json.Marshal(l)
		if err != nil {
			return nil, nil, err
		}
		off := uint64(buf.Len())
		var h [blockHdrLen]byte
		binary.BigEndian.PutUint32(h[0:4], uint32(len(p)))
		binary.BigEndian.PutUint32(h[4:8], crc32.Checksum(p, castagnoli))
		buf.Write(h[:])
		buf.Write(p)
		ix.Entries = append(ix.Entries, Entry{Code: l.Code, Offset: off, Length: uint32(blockHdrLen + len(p))})
		ix.Filter.AddString(l.Code)
	}
	idxOff := uint64(buf.Len())
	idx, err := encodeIndex(ix)
	if err != nil {
		return nil, nil, err
	}
	buf.Write(idx)
	var t [trailerLen]byte
	binary.BigEndian.PutUint64(t[0:8], idxOff)
	binary.BigEndian.PutUint32(t[8:12], uint32(len(idx)))
	binary.BigEndian.PutUint32(t[12:16], crc32.Checksum(idx, castagnoli))
	copy(t[16:], trailerMagic)
	buf.Write(t[:])
	return buf.Bytes(), ix, nil
}

func encodeIndex(ix *Index) ([]byte, error) {
	var b bytes.Buffer
	var u4 [4]byte
	var u8 [8]byte
	var u2 [2]byte
	binary.BigEndian.PutUint32(u4[:], uint32(len(ix.Entries)))
	b.Write(u4[:])
	for _, e := range ix.Entries {
		binary.BigEndian.PutUint16(u2[:], uint16(len(e.Code)))
		b.Write(u2[:])
		b.WriteString(e.Code)
		binary.BigEndian.PutUint64(u8[:], e.Offset)
		b.Write(u8[:])
		binary.BigEndian.PutUint32(u4[:], e.Length)
		b.Write(u4[:])
	}
	fb, err := ix.Filter.MarshalBinary()
	if err != nil {
		return nil, err
	}
	binary.BigEndian.PutUint32(u4[:], uint32(len(fb)))
	b.Write(u4[:])
	b.Write(fb)
	return b.Bytes(), nil
}

// ParseTrailer reads the trailer (the last trailerLen bytes of a segment of
// the given size) and returns where the index is.
func ParseTrailer(t []byte, size int64) (off int64, length int, sum uint32, err error) {
	if len(t) != trailerLen || size < int64(len(headerMagic)+trailerLen) || string(t[16:]) != trailerMagic {
		return 0, 0, 0, fmt.Errorf("%w: bad trailer", ErrCorrupt)
	}
	o := binary.BigEndian.Uint64(t[0:8])
	l := binary.BigEndian.Uint32(t[8:12])
	if o < uint64(len(headerMagic)) || o > uint64(size) || uint64(l) != uint64(size)-trailerLen-o {
		return 0, 0, 0, fmt.Errorf("%w: index out of range", ErrCorrupt)
	}
	return int64(o), int(l), binary.BigEndian.Uint32(t[12:16]), nil
}

// ParseIndex decodes and checks an index section; idxOff bounds the block
// offsets it may name.
func ParseIndex(b []byte, sum uint32, idxOff int64) (*Index, error) {
	if crc32.Checksum(b, castagnoli) != sum {
		return nil, fmt.Errorf("%w: index checksum", ErrCorrupt)
	}
	bad := func(what string) error { return fmt.Errorf("%w: index %s", ErrCorrupt, what) }
	if len(b) < 4 {
		return nil, bad("short")
	}
	n := binary.BigEndian.Uint32(b)
	b = b[4:]
	if uint64(n) > uint64(len(b))/14 {
		return nil, bad("count")
	}
	ix := &Index{Entries: make([]Entry, 0, n)}
	for i := uint32(0); i < n; i++ {
		if len(b) < 2 {
			return nil, bad("short")
		}
		cl := int(binary.BigEndian.Uint16(b))
		b = b[2:]
		if cl == 0 || cl > maxCodeLen || len(b) < cl+12 {
			return nil, bad("entry")
		}
		e := Entry{Code: string(b[:cl]), Offset: binary.BigEndian.Uint64(b[cl:]), Length: binary.BigEndian.Uint32(b[cl+8:])}
		b = b[cl+12:]
		if e.Offset < uint64(len(headerMagic)) || e.Length < blockHdrLen || e.Length > maxBlockLen || e.Offset+uint64(e.Length) > uint64(idxOff) {
			return nil, bad("entry range")
		}
		if i > 0 && ix.Entries[i-1].Code >= e.Code {
			return nil, bad("order")
		}
		ix.Entries = append(ix.Entries, e)
	}
	if len(b) < 4 {
		return nil, bad("short")
	}
	fl := binary.BigEndian.Uint32(b)
	b = b[4:]
	if uint64(fl) != uint64(len(b)) {
		return nil, bad("filter length")
	}
	f := &bloom.BloomFilter{}
	if err := f.UnmarshalBinary(b); err != nil || f.Cap() == 0 || f.K() == 0 {
		return nil, bad("filter")
	}
	ix.Filter = f
	for _, e := range ix.Entries {
		if !f.TestString(e.Code) {
			return nil, bad("filter misses a code")
		}
	}
	return ix, nil
}

// DecodeRecord checks and decodes one record block read at e.
func DecodeRecord(block []byte, e Entry) (store.Link, error) {
	var l store.Link
	if uint32(len(block)) != e.Length || len(block) < blockHdrLen {
		return l, fmt.Errorf("%w: truncated record", ErrCorrupt)
	}
	n := binary.BigEndian.Uint32(block[0:4])
	p := block[blockHdrLen:]
	if uint64(n) != uint64(len(p)) || crc32.Checksum(p, castagnoli) != binary.BigEndian.Uint32(block[4:8]) {
		return l, fmt.Errorf("%w: record checksum", ErrCorrupt)
	}
	if err := json.Unmarshal(p, &l); err != nil {
		return l, fmt.Errorf("%w: record: %v", ErrCorrupt, err)
	}
	if l.Code != e.Code {
		return l, fmt.Errorf("%w: record code %q under %q", ErrCorrupt, l.Code, e.Code)
	}
	return l, nil
}

// Decode checks a whole segment and returns its index and links.
func Decode(seg []byte) (*Index, []store.Link, error) {
	size := int64(len(seg))
	if size < int64(len(headerMagic)+trailerLen) || string(seg[:len(headerMagic)]) != headerMagic {
		return nil, nil, fmt.Errorf("%w: bad header", ErrCorrupt)
	}
	off, l, sum, err := ParseTrailer(seg[size-trailerLen:], size)
	if err != nil {
		return nil, nil, err
	}
	ix, err := ParseIndex(seg[off:off+int64(l)], sum, off)
	if err != nil {
		return nil, nil, err
	}
	links := make([]store.Link, 0, len(ix.Entries))
	for _, e := range ix.Entries {
		ln, err := DecodeRecord(seg[e.Offset:e.Offset+uint64(e.Length)], e)
		if err != nil {
			return nil, nil, err
		}
		links = append(links, ln)
	}
	return ix, links, nil
}
