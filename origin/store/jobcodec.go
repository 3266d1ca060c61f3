package store

import (
	"encoding/binary"
	"fmt"
)

// Job chunks are stored in one compact binary form by both backends:
// a format byte, then per line: uvarint line number, op byte, then SKU,
// warehouse, to, reason, ref as uvarint-length strings, and the quantity
// as a zigzag varint. About 30 bytes a line instead of ~90 of NDJSON.
const jobChunkFormat = 1

var jobOps = []string{OpSet, OpAdjust, OpTransfer}

// EncodeJobChunk encodes lines for storage.
func EncodeJobChunk(lines []JobLine) []byte {
	b := make([]byte, 0, 1+len(lines)*40)
	b = append(b, jobChunkFormat)
	for i := range lines {
		l := &lines[i]
		b = binary.AppendUvarint(b, uint64(l.Line))
		op := byte(0)
		for k, o := range jobOps {
			if o == l.Op {
				op = byte(k)
			}
		}
		b = append(b, op)
		for _, s := range []string{l.SKU, l.Warehouse, l.To, l.Reason, l.Ref} {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
		b = binary.AppendVarint(b, l.Qty)
	}
	return b
}

// DecodeJobChunk decodes what EncodeJobChunk wrote; anything else is an
// error (a damaged record), never a panic.
func DecodeJobChunk(b []byte) ([]JobLine, error) {
	if len(b) == 0 || b[0] != jobChunkFormat {
		return nil, fmt.Errorf("job chunk: unknown format")
	}
	b = b[1:]
	var out []JobLine
	for len(b) > 0 {
		var l JobLine
		n, k := binary.Uvarint(b)
		if k <= 0 || n == 0 || n > MaxJobLines {
			return nil, fmt.Errorf("job chunk: bad line number")
		}
		l.Line, b = int64(n), b[k:]
		if len(b) == 0 || int(b[0]) >= len(jobOps) {
			return nil, fmt.Errorf("job chunk: line %d: bad op", l.Line)
		}
		l.Op, b = jobOps[b[0]], b[1:]
		for _, dst := range []*string{&l.SKU, &l.Warehouse, &l.To, &l.Reason, &l.Ref} {
			n, k := binary.Uvarint(b)
			if k <= 0 || n > 1024 || uint64(len(b)-k) < n {
				return nil, fmt.Errorf("job chunk: line %d: bad string", l.Line)
			}
			*dst, b = string(b[k:k+int(n)]), b[k+int(n):]
		}
		q, k := binary.Varint(b)
		if k <= 0 {
			return nil, fmt.Errorf("job chunk: line %d: bad quantity", l.Line)
		}
		l.Qty, b = q, b[k:]
		out = append(out, l)
		if len(out) > JobChunkLines {
			return nil, fmt.Errorf("job chunk: more than %d lines", JobChunkLines)
		}
	}
	return out, nil
}
