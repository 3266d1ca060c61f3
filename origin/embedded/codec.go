package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// errCorrupt marks bytes in the database that do not decode: a bug or a
// damaged file, never a caller's mistake. Operations that meet one fail
// without changing anything.
var errCorrupt = errors.New("embedded: corrupt record")

// The records are a small binary format: a format byte, then fields as
// varints and length-prefixed strings. It is compact (a stock record is
// rewritten by every reservation), needs no reflection, and its decoder
// rejects anything it did not write (see the fuzz tests).

// enc appends fields to a buffer.
type enc struct{ b []byte }

func (e *enc) byte(v byte)      { e.b = append(e.b, v) }
func (e *enc) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }

func (e *enc) str(s string) {
	e.uvarint(uint64(len(s)))
	e.b = append(e.b, s...)
}

// time keeps seconds and nanoseconds, so every representable instant
// round-trips exactly (unix nanoseconds in an int64 end in 2262).
func (e *enc) time(t time.Time) {
	e.varint(t.Unix())
	e.uvarint(uint64(t.Nanosecond()))
}

// dec reads fields; the first failure sticks, so callers check once.
type dec struct {
	b   []byte
	err error
}

func (d *dec) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: bad %s", errCorrupt, what)
	}
}

func (d *dec) byte(what string) byte {
	if d.err != nil || len(d.b) == 0 {
		d.fail(what)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *dec) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a non-negative quantity that must fit an int64.
func (d *dec) count(what string) int64 {
	v := d.uvarint(what)
	if v > 1<<62 {
		d.fail(what)
		return 0
	}
	return int64(v)
}

// str reads a string of at most maxLen bytes; it copies, because bbolt's
// bytes are only valid inside the transaction.
func (d *dec) str(what string, maxLen int) string {
	n := d.uvarint(what)
	if d.err != nil {
		return ""
	}
	if n > uint64(maxLen) || n > uint64(len(d.b)) {
		d.fail(what)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *dec) time(what string) time.Time {
	sec := d.varint(what)
	ns := d.uvarint(what)
	if d.err != nil {
		return time.Time{}
	}
	if ns >= 1e9 {
		d.fail(what)
		return time.Time{}
	}
	return time.Unix(sec, int64(ns)).UTC()
}

// done reports the first failure, or trailing bytes.
func (d *dec) done(what string) error {
	if d.err == nil && len(d.b) != 0 {
		d.fail(what + ": trailing bytes")
	}
	if d.err != nil {
		return fmt.Errorf("%s: %w", what, d.err)
	}
	return nil
}
