package cache

import (
	"bytes"
	"context"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/shortstock/shortstock/internal/keys"
)

func TestEntryLayout(t *testing.T) {
	if got := unsafe.Sizeof(Entry{}); got != entrySize {
		t.Fatalf("Entry is %d bytes, entrySize says %d: fix entrySize and inlineTails (entrySize+tail must be malloc size classes)", got, entrySize)
	}
	// Entry.buf finds the bytes (or their slice header) at entrySize.
	var inline struct {
		e    Entry
		tail [8]byte
	}
	var outside struct {
		e Entry
		b []byte
	}
	if unsafe.Offsetof(inline.tail) != entrySize || unsafe.Offsetof(outside.b) != entrySize {
		t.Fatalf("the bytes sit at %d and %d behind an Entry, not entrySize %d", unsafe.Offsetof(inline.tail), unsafe.Offsetof(outside.b), entrySize)
	}
	if raceEnabled {
		t.Skip("allocation sizes are not measured under the race detector")
	}
	// Each inline tier is one allocation of exactly entryBytes: a tail that
	// is not a size class would waste the rounding, silently.
	sizes := []int{0}
	for _, tail := range inlineTails {
		sizes = append(sizes, tail-1, tail)
	}
	keep := make([]*Entry, 1000)
	// MemStats are process-wide: goroutines left by other tests (cache
	// workers, the runtime) add a few bytes now and then. Noise only ever
	// adds, so the least of a few rounds is the measurement.
	for _, n := range sizes {
		gotBytes, gotMallocs := uint64(math.MaxUint64), uint64(math.MaxUint64)
		for range 5 {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for i := range keep {
				keep[i], _ = allocEntry(n)
			}
			runtime.ReadMemStats(&after)
			gotBytes = min(gotBytes, after.TotalAlloc-before.TotalAlloc)
			gotMallocs = min(gotMallocs, after.Mallocs-before.Mallocs)
		}
		if want := uint64(len(keep)) * uint64(entryBytes(n)); gotBytes != want {
			t.Errorf("allocEntry(%d): %d bytes for %d entries, entryBytes says %d each", n, gotBytes, len(keep), entryBytes(n))
		}
		if gotMallocs != uint64(len(keep)) {
			t.Errorf("allocEntry(%d): %d allocations for %d entries, want one each", n, gotMallocs, len(keep))
		}
	}
}

func TestNewEntryRendersEveryPart(t *testing.T) {
	end := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		a    Answer
	}{
		{"redirect", Answer{Kind: keys.KindLink, ID: "abc1234", Status: 301, Version: 42, TTL: time.Minute, NotAfter: end, Location: "https://example.com/x"}},
		{"redirect ending soon", Answer{Kind: keys.KindLink, ID: "soon", Status: 302, Version: 3, TTL: time.Hour, NotAfter: t0.Add(30*time.Second + 123456789), Location: "https://example.com/y"}},
		{"redirect ending in its grace", Answer{Kind: keys.KindLink, ID: "grace", Status: 302, Version: 4, TTL: time.Minute, NotAfter: t0.Add(90*time.Second + 123456789), Location: "https://example.com/z"}},
		{"stock json", Answer{Kind: keys.KindStock, ID: "SKU-1", Status: 200, Version: math.MaxUint64, TTL: time.Minute, ContentType: []byte("application/json"), Body: []byte(`{"sku":"SKU-1"}`)}},
		{"stock other type", Answer{Kind: keys.KindStock, ID: "S", Status: 200, Version: 7, TTL: time.Minute, ContentType: []byte("application/json; charset=utf-8"), Body: []byte(`{}`)}},
		{"not found", Answer{Kind: keys.KindLink, ID: "nope", Negative: true, Status: 404, ContentType: []byte("application/json"), Body: []byte(`{"error":"not_found"}`)}},
		{"long body", Answer{Kind: keys.KindStock, ID: "big", Status: 200, Version: 1, Body: []byte(strings.Repeat("x", 5000))}},
		{"bare", Answer{Kind: keys.KindLink, ID: "", Status: 204}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := NewEntry(c.a)
			if err != nil {
				t.Fatal(err)
			}
			a := c.a
			if e.Kind() != a.Kind || e.ID() != a.ID || e.Status() != a.Status || e.Negative() != a.Negative ||
				e.Version() != a.Version || string(e.VersionBytes()) != itoa64(a.Version) ||
				string(e.Location()) != a.Location || string(e.Body()) != string(a.Body) ||
				string(e.ContentType()) != string(a.ContentType) {
				t.Fatalf("entry does not render %+v", a)
			}
			if (e.Body() == nil) != (len(a.Body) == 0) || (e.Location() == nil) != (a.Location == "") || (e.ContentType() == nil) != (len(a.ContentType) == 0) {
				t.Fatal("an empty part is not nil, or a part is missing")
			}
			// No part can be appended to over the next one.
			for _, p := range [][]byte{e.VersionBytes(), e.id(), e.Location(), e.Body(), e.ContentType()} {
				if cap(p) != len(p) {
					t.Fatalf("part %q has room behind it", p)
				}
			}
			now := t0
			e.seal(now, time.Hour, 3, 5)
			wantFresh, wantStale := now.Add(a.TTL), now.Add(a.TTL+time.Hour)
			if !a.NotAfter.IsZero() {
				wantFresh, wantStale = minTime(wantFresh, a.NotAfter), minTime(wantStale, a.NotAfter)
			}
			// The stale end is kept to the millisecond, rounded down: never
			// later than the answer allows.
			stale := e.staleUntil()
			if !e.FreshUntil().Equal(wantFresh) || stale > wantStale.UnixNano() || wantStale.UnixNano()-stale >= int64(time.Millisecond) || e.gen != 3 || e.checked.Load() != 5 {
				t.Fatalf("sealed: fresh %v stale %v (want %v) gen %d epoch %d", e.FreshUntil(), time.Unix(0, stale), wantStale, e.gen, e.checked.Load())
			}
			if !a.NotAfter.IsZero() && (e.HardEnd() > a.NotAfter.UnixNano() || e.HardEnd() != stale) {
				t.Fatalf("hard end %v, NotAfter %v", time.Unix(0, e.HardEnd()), a.NotAfter)
			}
		})
	}
}

func TestNewEntryRefusesWhatItCannotHold(t *testing.T) {
	for name, a := range map[string]Answer{
		"long id":           {Kind: keys.KindLink, ID: strings.Repeat("a", maxIDLen+1), Status: 302, Location: "x"},
		"long content type": {Kind: keys.KindStock, ID: "s", Status: 200, ContentType: make([]byte, maxContentTypeLen+1), Body: []byte("{}")},
		"location and body": {Kind: keys.KindLink, ID: "l", Status: 302, Location: "x", Body: []byte("y")},
		"no status":         {Kind: keys.KindLink, ID: "l", Location: "x"},
		"status too big":    {Kind: keys.KindLink, ID: "l", Status: 70000, Location: "x"},
	} {
		if _, err := NewEntry(a); !errors.Is(err, ErrBadAnswer) {
			t.Errorf("%s: %v, want ErrBadAnswer", name, err)
		}
	}
}

// TestHashCollisionIsAMiss puts one key's entry where another key hashes
// to, as a 64-bit collision would: the other key must never be answered
// with it.
func TestHashCollisionIsAMiss(t *testing.T) {
	o := newFakeOrigin()
	o.set(keys.KindLink, "mine", 1)
	o.set(keys.KindLink, "theirs", 2)
	c, _ := newTestCache(t, o)
	e := render(keys.KindLink, "theirs", 2, time.Hour)
	e.seal(c.cfg.Clock.Now(), time.Hour, 0, c.floors.shard(hashKey(keys.KindLink, "mine")).epoch.Load())
	c.items.set(hashKey(keys.KindLink, "mine"), e)
	c.Wait()
	if got := c.Peek(keys.KindLink, "mine"); got != nil {
		t.Fatalf("mine answered with %s's entry", got.ID())
	}
	got, st, err := c.Get(keys.KindLink, []byte("mine"))
	if err != nil || st != Miss || got.ID() != "mine" || got.Version() != 1 {
		t.Fatalf("Get(mine): %v %v %+v", st, err, got)
	}
	// The load replaced the other key's entry: ristretto holds one per hash.
	c.Wait()
	if got, st, _ := c.Get(keys.KindLink, []byte("mine")); st != Hit || got.ID() != "mine" {
		t.Fatalf("mine is not cached after its load: %v", st)
	}
}

func TestLoaderReturningAnEntryTwiceIsRefused(t *testing.T) {
	shared := render(keys.KindLink, "x", 1, time.Hour)
	c, _ := newTestCache(t, LoaderFunc(func(context.Context, keys.Kind, string, uint64) (*Entry, error) { return shared, nil }))
	mustGet(t, c, keys.KindLink, "x")
	c.DropAll()
	if _, _, err := c.Get(keys.KindLink, []byte("x")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("second fill with an entry already sealed: %v, want ErrUnavailable", err)
	}
}

func TestCountersForIsAPowerOfTwo(t *testing.T) {
	for _, c := range []struct{ entries, want int64 }{{0, 1024}, {1000, 4096}, {1_000_000, 4 << 20}, {1_300_000, 4 << 20}, {1_500_000, 8 << 20}} {
		if got := countersFor(c.entries); got != c.want {
			t.Errorf("countersFor(%d) = %d, want %d", c.entries, got, c.want)
		}
	}
}

func itoa64(v uint64) string {
	if v == math.MaxUint64 {
		return "18446744073709551615"
	}
	return itoa(int(v))
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// TestEntryBytesSurviveCollections checks that an entry keeps its bytes
// alive, behind it or (too large to sit there) in a buffer of their own
// that only the slice header behind it points to.
func TestEntryBytesSurviveCollections(t *testing.T) {
	var entries []*Entry
	var want []string
	for _, n := range []int{0, 1, 40, 200, 201, 5000, 70000} {
		body := strings.Repeat(string(rune('a'+n%26)), n)
		e, err := NewEntry(Answer{Kind: keys.KindStock, ID: "sku" + itoa64(uint64(n)), Status: 200, Version: 9, TTL: time.Minute, Body: []byte(body)})
		if err != nil {
			t.Fatal(err)
		}
		entries, want = append(entries, e), append(want, body)
	}
	for range 3 {
		runtime.GC()
		junk := make([][]byte, 0, 1000)
		for j := range 1000 {
			junk = append(junk, bytes.Repeat([]byte{'z'}, 1+j%300))
		}
		runtime.KeepAlive(junk)
	}
	for i, e := range entries {
		if string(e.Body()) != want[i] || e.ID() != "sku"+itoa64(uint64(len(want[i]))) || e.Version() != 9 {
			t.Fatalf("entry %d (%d bytes) lost its bytes", i, len(want[i]))
		}
	}
}
