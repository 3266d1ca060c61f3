package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
)

// Link import jobs. POST /v1/links:import queues large imports on the
// same durable queue as stock bulk jobs (one lease, one cursor, one
// GET /v1/jobs/{id}), but a store does not apply their lines itself: the
// origin claims a chunk (ClaimJobChunk), creates its links through the
// ordinary CreateLink(s) and then records the outcome (FinishJobChunk),
// which moves the cursor by compare-and-set. A crash between the two
// replays the chunk; the origin makes a replayed line a no-op (a link
// that exists with the same content counts as applied), so each line is
// applied, and counted, once.

// Job kinds.
const (
	JobKindStock = ""
	JobKindLinks = "links"
)

// LinkJobLine is one line of a links job: its 1-based line number in the
// import and the link to create. Generated marks a code the origin chose
// (the line had none): on a collision with another link the origin may
// try the line's next derived code instead of failing the line.
type LinkJobLine struct {
	Line      int64
	Generated bool
	Link      NewLink
}

// linkChunkFormat tags a chunk of link lines (EncodeJobChunk's is 1).
const linkChunkFormat = 2

// maxLinkLineBytes bounds one encoded link (a line of an import is at
// most 64 KiB, and its link is never larger than its JSON).
const maxLinkLineBytes = 1 << 20

// linkRec is the stored form of a NewLink: explicit names, so the
// encoding does not follow Go field names.
type linkRec struct {
	Code      string     `json:"c"`
	URL       string     `json:"u"`
	Redirect  int        `json:"r,omitempty"`
	ExpiresAt *time.Time `json:"x,omitempty"`
	CreatedAt time.Time  `json:"t"`
	Extras    LinkExtras `json:"e"`
}

// EncodeLinkChunk encodes link lines for storage: a format byte, then
// per line a uvarint line number, a flags byte (1: generated code) and
// the link as uvarint-length-prefixed JSON.
func EncodeLinkChunk(lines []LinkJobLine) []byte {
	b := []byte{linkChunkFormat}
	for i := range lines {
		l := &lines[i]
		b = binary.AppendUvarint(b, uint64(l.Line))
		flags := byte(0)
		if l.Generated {
			flags = 1
		}
		b = append(b, flags)
		rec := linkRec{l.Link.Code, l.Link.URL, l.Link.Redirect, l.Link.ExpiresAt, l.Link.CreatedAt, l.Link.LinkExtras}
		js, err := json.Marshal(rec)
		if err != nil {
			panic("store: encode link line: " + err.Error()) // plain data: cannot fail
		}
		b = binary.AppendUvarint(b, uint64(len(js)))
		b = append(b, js...)
	}
	return b
}

// DecodeLinkChunk decodes what EncodeLinkChunk wrote; anything else is an
// error (a damaged record), never a panic.
func DecodeLinkChunk(b []byte) ([]LinkJobLine, error) {
	if len(b) == 0 || b[0] != linkChunkFormat {
		return nil, fmt.Errorf("link chunk: unknown format")
	}
	b = b[1:]
	var out []LinkJobLine
	for len(b) > 0 {
		if len(out) == JobChunkLines {
			return nil, fmt.Errorf("link chunk: more than %d lines", JobChunkLines)
		}
		var l LinkJobLine
		n, k := binary.Uvarint(b)
		if k <= 0 || n == 0 || n > MaxJobLines {
			return nil, fmt.Errorf("link chunk: bad line number")
		}
		l.Line, b = int64(n), b[k:]
		if len(b) == 0 || b[0] > 1 {
			return nil, fmt.Errorf("link chunk: line %d: bad flags", l.Line)
		}
		l.Generated, b = b[0] == 1, b[1:]
		n, k = binary.Uvarint(b)
		if k <= 0 || n > maxLinkLineBytes || uint64(len(b)-k) < n {
			return nil, fmt.Errorf("link chunk: line %d: bad length", l.Line)
		}
		var rec linkRec
		if err := json.Unmarshal(b[k:k+int(n)], &rec); err != nil {
			return nil, fmt.Errorf("link chunk: line %d: %v", l.Line, err)
		}
		b = b[k+int(n):]
		l.Link = NewLink{Code: rec.Code, URL: rec.URL, Redirect: rec.Redirect, ExpiresAt: rec.ExpiresAt,
			CreatedAt: rec.CreatedAt, LinkExtras: rec.Extras}
		out = append(out, l)
	}
	return out, nil
}

// ChunkJobs is the part of a JobQueue that runs jobs whose lines the
// caller applies (JobKindLinks). RunJob refuses such a job.
type ChunkJobs interface {
	// ClaimJobChunk takes or renews the job's lease for owner (as RunJob
	// does: ErrJobLeased when another owner holds it) and returns the job
	// and its next chunk as stored. An ended job comes back with no chunk;
	// so does one whose chunk another worker just finished (claim again).
	ClaimJobChunk(ctx context.Context, id, owner string, now time.Time, lease time.Duration) (Job, []byte, error)
	// FinishJobChunk records the outcome of chunk j.Next of the job j
	// that ClaimJobChunk returned: applied lines and failed ones. Only if
	// the job's cursor is still at that chunk: a chunk two workers ran is
	// counted once. It drops the chunk and ends the job after its last.
	FinishJobChunk(ctx context.Context, j Job, applied int64, errs []JobError) (Job, error)
}
