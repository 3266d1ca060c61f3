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
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gocloud.dev/blob"

	"github.com/shortstock/shortstock/origin/store"
)

// LivePrefix holds one small marker object per live segment
// ("live/<segment name>", JSON: key, links, bytes). A marker is written
// only after its segment has been written, read back and decoded, so a
// crash in between leaves an orphan segment that no lookup reads. Each
// segment has its own marker, so movers of several origins sharing one
// bucket never overwrite each other's listing.
const LivePrefix = "live/"

// ErrUnavailable wraps a failure of the object store (not a corrupt segment).
var ErrUnavailable = errors.New("coldtier: cold store unavailable")

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
	segs []segment // oldest first (segment keys begin with their time)

	// Hook, when set (tests), runs at each step of Put ("written",
	// "verified", "listed"); an error stops Put there, as a crash would.
	Hook func(step string) error

	refreshMu sync.Mutex
	bad       map[string]bool // segments found corrupt (under refreshMu)

	coldReads, falsePos, corrupt atomic.Int64
}

// Open lists the live segments of b and loads each one's index and filter.
func Open(ctx context.Context, b *blob.Bucket, log *slog.Logger) (*Tier, error) {
	if log == nil {
		log = slog.Default()
	}
	t := &Tier{b: b, log: log, bad: map[string]bool{}}
	if err := t.Refresh(ctx); err != nil {
		return nil, err
	}
	return t, nil
}

// Refresh loads the segments listed since Open or the last Refresh (another
// origin's mover may write to the same bucket). A segment found corrupt is
// logged and counted once and never loaded; an unreachable store is
// ErrUnavailable and the segments not loaded yet are tried again next time.
func (t *Tier) Refresh(ctx context.Context) error {
	t.refreshMu.Lock()
	defer t.refreshMu.Unlock()
	t.mu.RLock()
	have := make(map[string]bool, len(t.segs))
	for _, s := range t.segs {
		have[s.meta.Key] = true
	}
	t.mu.RUnlock()
	var markers []string
	it := t.b.List(&blob.ListOptions{Prefix: LivePrefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: list: %v", ErrUnavailable, err)
		}
		markers = append(markers, obj.Key)
	}
	sort.Strings(markers)
	var add []segment
	for _, mk := range markers {
		key := segmentPrefix + strings.TrimPrefix(mk, LivePrefix)
		if have[key] || t.bad[key] {
			continue
		}
		raw, err := t.b.ReadAll(ctx, mk)
		if err != nil {
			return fmt.Errorf("%w: marker %s: %v", ErrUnavailable, mk, err)
		}
		var sm segMeta
		if err := json.Unmarshal(raw, &sm); err != nil || sm.Key != key {
			t.broken(key, fmt.Errorf("%w: marker %s: %v", ErrCorrupt, mk, err))
			continue
		}
		ix, err := t.loadIndex(ctx, sm)
		if err != nil {
			if errors.Is(err, ErrCorrupt) {
				t.broken(key, err)
				continue
			}
			return err
		}
		add = append(add, segment{meta: sm, ix: ix})
	}
	if len(add) == 0 {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	segs := append(append(make([]segment, 0, len(t.segs)+len(add)), t.segs...), add...)
	sort.Slice(segs, func(i, j int) bool { return segs[i].meta.Key < segs[j].meta.Key })
	t.segs = segs
	return nil
}

func (t *Tier) broken(key string, err error) {
	t.bad[key] = true
	t.corrupt.Add(1)
	t.log.Error("cold segment corrupt; not served", "segment", key, "err", err)
}

const segmentPrefix = "segments/"

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
// only then writes its live marker. When Put returns nil every link is
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
	name := fmt.Sprintf("%020d-%s.seg", time.Now().UnixNano(), hex.EncodeToString(rnd[:]))
	key := segmentPrefix + name
	if err := t.b.WriteAll(ctx, key, seg, &blob.WriterOptions{ContentType: "application/octet-stream"}); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	sm := segMeta{Key: key, Links: len(links), Bytes: int64(len(seg))}
	if err := t.hook("written"); err != nil {
		return err
	}
	// Verify: read the object back through the store, as a lookup would.
	back, err := t.b.ReadAll(ctx, key)
	if err != nil {
		return fmt.Errorf("%w: verify: %v", ErrUnavailable, err)
	}
	ix, got, err := Decode(back)
	if err != nil || len(got) != len(links) {
		return fmt.Errorf("coldtier: verify %s: %v", key, err)
	}
	back2 := make(map[string]uint64, len(got))
	for _, l := range got {
		back2[l.Code] = l.Version
	}
	for _, l := range links {
		if v, ok := back2[l.Code]; !ok || v != l.Version {
			return fmt.Errorf("coldtier: verify %s: %s v%d reads back as v%d (present %v)", key, l.Code, l.Version, v, ok)
		}
	}
	if err := t.hook("verified"); err != nil {
		return err
	}
	raw, _ := json.Marshal(sm)
	if err := t.b.WriteAll(ctx, LivePrefix+name, raw, nil); err != nil {
		return fmt.Errorf("%w: marker: %v", ErrUnavailable, err)
	}
	if err := t.hook("listed"); err != nil {
		return err
	}
	t.mu.Lock()
	t.segs = append(t.segs, segment{meta: sm, ix: ix})
	sort.Slice(t.segs, func(i, j int) bool { return t.segs[i].meta.Key < t.segs[j].meta.Key })
	t.mu.Unlock()
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

func (t *Tier) hook(step string) error {
	if t.Hook == nil {
		return nil
	}
	return t.Hook(step)
}

// MayHave reports whether some segment's filter may hold code (no read).
func (t *Tier) MayHave(code string) bool {
	t.mu.RLock()
	segs := t.segs
	t.mu.RUnlock()
	for _, s := range segs {
		if s.ix.Filter == nil || s.ix.Filter.TestString(code) {
			return true
		}
	}
	return false
}

// Broken is how many listed segments could not be loaded because they are
// corrupt or truncated. Their links cannot be read: a lookup that finds a
// code nowhere else cannot say it does not exist.
func (t *Tier) Broken() int {
	t.refreshMu.Lock()
	defer t.refreshMu.Unlock()
	return len(t.bad)
}
