package coldtier

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"gocloud.dev/blob"

	"github.com/shortstock/shortstock/origin/store"
)

// ManifestKey is the object listing the live segments. It is written after
// the segment it names, so a crash in between leaves an orphan segment that
// no lookup reads.
const ManifestKey = "manifest.json"

// ErrUnavailable wraps a failure of the object store (not a corrupt segment).
var ErrUnavailable = errors.New("coldtier: cold store unavailable")

type manifest struct {
	Segments []segMeta `json:"segments"`
}

type segMeta struct {
	Key   string `json:"key"`
	Links int    `json:"links"`
	Bytes int64  `json:"bytes"`
}

type segment struct {
	meta segMeta
	ix   *Index
}

// Stats are the counters of a Tier.
type Stats struct {
	Links, Bytes, Segments             int64
	ColdReads, FalsePositives, Corrupt int64
}

// Tier is the cold tier over one bucket. Segment indexes and filters stay in
// memory; a lookup is at most one ranged read per segment whose filter says
// "maybe" (newest first).
type Tier struct {
	b   *blob.Bucket
	log *slog.Logger

	mu   sync.RWMutex
	segs []segment // oldest first

	coldReads, falsePos, corrupt atomic.Int64
}

// Open loads the manifest and every listed segment's index from b.
func Open(ctx context.Context, b *blob.Bucket, log *slog.Logger) (*Tier, error) {
	if log == nil {
		log = slog.Default()
	}
	t := &Tier{b: b, log: log}
	raw, err := b.ReadAll(ctx, ManifestKey)
	if err != nil && !isNotFound(err) {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if err == nil {
		var m manifest
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("%w: manifest: %v", ErrCorrupt, err)
		}
		for _, sm := range m.Segments {
			ix, err := t.loadIndex(ctx, sm)
			if err != nil {
				if errors.Is(err, ErrCorrupt) {
					t.corrupt.Add(1)
					t.log.Error("cold segment corrupt; not served", "segment", sm.Key, "err", err)
					continue
				}
				return nil, err
			}
			t.segs = append(t.segs, segment{meta: sm, ix: ix})
		}
	}
	return t, nil
}

func isNotFound(err error) bool {
	return err != nil && blobNotFound(err)
}

func (t *Tier) loadIndex(ctx context.Context, sm segMeta) (*Index, error) {
	if sm.Bytes < int64(len(headerMagic)+trailerLen) {
		return nil, fmt.Errorf("%w: %s too small", ErrCorrupt, sm.Key)
	}
	attrs, err := t.b.Attributes(ctx, sm.Key)
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("%w: %s missing", ErrCorrupt, sm.Key)
		}
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if attrs.Size != sm.Bytes {
		return nil, fmt.Errorf("%w: %s is %d bytes, manifest says %d", ErrCorrupt, sm.Key, attrs.Size, sm.Bytes)
	}
	tr, err := t.rangeRead(ctx, sm.Key, sm.Bytes-trailerLen, trailerLen)
	if err != nil {
		return nil, err
	}
	off, l, sum, err := ParseTrailer(tr, sm.Bytes)
	if err != nil {
		return nil, err
	}
	ib, err := t.rangeRead(ctx, sm.Key, off, int64(l))
	if err != nil {
		return nil, err
	}
	return ParseIndex(ib, sum, off)
}

func (t *Tier) rangeRead(ctx context.Context, key string, off, n int64) ([]byte, error) {
	r, err := t.b.NewRangeReader(ctx, key, off, n, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer r.Close()
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: %s truncated", ErrCorrupt, key)
		}
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return buf, nil
}

// Put writes links as one new segment, reads it back and checks it, and
// only then lists it in the manifest. When Put returns nil every link is
// readable from the cold tier with the version given.
func (t *Tier) Put(ctx context.Context, links []store.Link) error {
	if len(links) == 0 {
		return nil
	}
	seg, _, err := Encode(links)
	if err != nil {
		return err
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	key := fmt.Sprintf("segments/%020d-%s.seg", time.Now().UnixNano(), hex.EncodeToString(rnd[:]))
	if err := t.b.WriteAll(ctx, key, seg, &blob.WriterOptions{ContentType: "application/octet-stream"}); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	sm := segMeta{Key: key, Links: len(links), Bytes: int64(len(seg))}
	// Verify: read the object back through the store, as a lookup would.
	back, err := t.b.ReadAll(ctx, key)
	if err != nil {
		return fmt.Errorf("%w: verify: %v", ErrUnavailable, err)
	}
	ix, got, err := Decode(back)
	if err != nil || len(got) != len(links) {
		return fmt.Errorf("coldtier: verify %s: %v", key, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	m := manifest{Segments: make([]segMeta, 0, len(t.segs)+1)}
	for _, s := range t.segs {
		m.Segments = append(m.Segments, s.meta)
	}
	m.Segments = append(m.Segments, sm)
	raw, _ := json.Marshal(m)
	if err := t.b.WriteAll(ctx, ManifestKey, raw, nil); err != nil {
		return fmt.Errorf("%w: manifest: %v", ErrUnavailable, err)
	}
	t.segs = append(t.segs, segment{meta: sm, ix: ix})
	return nil
}

// Get returns the newest cold copy of code, or store.ErrNotFound. A code in
// no filter costs no object read; a corrupt record is ErrCorrupt and is never
// returned; an unreachable store is ErrUnavailable.
func (t *Tier) Get(ctx context.Context, code string) (store.Link, error) {
	t.mu.RLock()
	segs := t.segs
	t.mu.RUnlock()
	var firstErr error
	for i := len(segs) - 1; i >= 0; i-- {
		s := segs[i]
		e, hit, ok := s.ix.Find(code)
		if !ok {
			if hit {
				t.falsePos.Add(1)
			}
			continue
		}
		t.coldReads.Add(1)
		blk, err := t.rangeRead(ctx, s.meta.Key, int64(e.Offset), int64(e.Length))
		if err == nil {
			var l store.Link
			if l, err = DecodeRecord(blk, e); err == nil {
				return l, nil
			}
		}
		if errors.Is(err, ErrCorrupt) {
			t.corrupt.Add(1)
			t.log.Error("cold segment corrupt; record not served", "segment", s.meta.Key, "code", code, "err", err)
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return store.Link{}, firstErr
	}
	return store.Link{}, store.ErrNotFound
}

// Stats reports the cold tier's size and counters.
func (t *Tier) Stats() Stats {
	t.mu.RLock()
	defer t.mu.RUnlock()
	s := Stats{Segments: int64(len(t.segs)), ColdReads: t.coldReads.Load(), FalsePositives: t.falsePos.Load(), Corrupt: t.corrupt.Load()}
	for _, sg := range t.segs {
		s.Links += int64(sg.meta.Links)
		s.Bytes += sg.meta.Bytes
	}
	return s
}
