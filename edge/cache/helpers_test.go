package cache

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/clock"
	"github.com/shortstock/shortstock/internal/keys"
)

// fakeOrigin is a Loader over a map of key -> version, with failure
// injection. Version 0 means "not found".
type fakeOrigin struct {
	mu       sync.Mutex
	versions map[string]uint64
	ttl      time.Duration
	down     atomic.Bool
	hang     atomic.Bool // when down, block until the context ends instead of failing fast
	calls    atomic.Int64
	delay    time.Duration
}

var errDown = errors.New("origin down")

func newFakeOrigin() *fakeOrigin {
	return &fakeOrigin{versions: map[string]uint64{}, ttl: time.Minute}
}

func (o *fakeOrigin) set(kind keys.Kind, id string, v uint64) {
	o.mu.Lock()
	o.versions[keys.Key(kind, id)] = v
	o.mu.Unlock()
}

func (o *fakeOrigin) Load(ctx context.Context, kind keys.Kind, id string, _ uint64) (*Entry, error) {
	o.calls.Add(1)
	if o.down.Load() {
		if o.hang.Load() {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return nil, errDown
	}
	o.mu.Lock()
	v := o.versions[keys.Key(kind, id)]
	o.mu.Unlock()
	if o.delay > 0 {
		time.Sleep(o.delay)
	}
	return render(kind, id, v, o.ttl), nil
}

func render(kind keys.Kind, id string, v uint64, ttl time.Duration) *Entry {
	return mustEntry(answer(kind, id, v, ttl))
}

func answer(kind keys.Kind, id string, v uint64, ttl time.Duration) Answer {
	if v == 0 {
		return Answer{Kind: kind, ID: id, Status: 404, Negative: true, TTL: ttl, Body: []byte(`{"error":"not_found"}`)}
	}
	if kind == keys.KindLink {
		return Answer{Kind: kind, ID: id, Status: 302, Version: v, TTL: ttl, Location: "https://example.com/" + id + "/" + strconv.FormatUint(v, 10)}
	}
	return Answer{Kind: kind, ID: id, Status: 200, Version: v, TTL: ttl, ContentType: []byte("application/json"), Body: []byte(`{"sku":"` + id + `","version":` + strconv.FormatUint(v, 10) + `}`)}
}

func mustEntry(a Answer) *Entry {
	e, err := NewEntry(a)
	if err != nil {
		panic(err)
	}
	return e
}

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func newTestCache(t testing.TB, l Loader, mutate ...func(*Config)) (*Cache, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(t0)
	cfg := DefaultConfig()
	cfg.Loader = l
	cfg.Clock = clk
	cfg.MaxCostBytes = 64 << 20
	cfg.LoadTimeout = 200 * time.Millisecond
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, clk
}

// mustGet loads a key and waits for ristretto to apply the Set, so the next
// Get is a hit.
func mustGet(t testing.TB, c *Cache, kind keys.Kind, id string) (*Entry, State) {
	t.Helper()
	e, st, err := c.Get(kind, []byte(id))
	if err != nil {
		t.Fatalf("Get(%c:%s): %v", kind, id, err)
	}
	c.Wait()
	return e, st
}
