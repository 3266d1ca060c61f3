package origin_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/wire"
	"github.com/shortstock/shortstock/origin"
	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/origin/store"
)

// lastPublished waits up to 10 s for a change of key at version and
// returns it.
func lastPublished(t *testing.T, o *testOrigin, key string, version uint64) change.Change {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		o.mu.Lock()
		for _, c := range o.published {
			if c.Key == key && c.Version == version {
				o.mu.Unlock()
				return c
			}
		}
		o.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no change of %s at version %d published", key, version)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// checkPushed checks that c carries exactly what the internal fetch
// endpoint answers now (the key has not moved since).
func checkPushed(t *testing.T, o *testOrigin, c change.Change, path string) {
	t.Helper()
	if c.Value == "" {
		t.Fatalf("%s v%d published without its value", c.Key, c.Version)
	}
	status, ttl, body, err := wire.DecodePushedAnswer([]byte(c.Value))
	if err != nil {
		t.Fatal(err)
	}
	r := o.do(http.MethodGet, path, "", nil)
	wantTTL, _ := strconv.ParseInt(r.header.Get(wire.HeaderTTL), 10, 64)
	if status != r.status || string(body) != string(r.body) || ttl.Milliseconds() != wantTTL || r.header.Get(wire.HeaderVersion) != strconv.FormatUint(c.Version, 10) {
		t.Fatalf("%s: pushed %d %v %s; the fetch answers %d %s %s (version %s)", c.Key, status, ttl, body, r.status, r.header.Get(wire.HeaderTTL), r.body, r.header.Get(wire.HeaderVersion))
	}
}

// Every write's change carries the key's answer at that version, the same
// bytes the edge's fetch gets: links (created, edited, deleted) and stock.
func TestChangesCarryTheFetchAnswer(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b, func(c *origin.Config) { c.PushValues = origin.PushValuesOn })
		o.waitTailer()
		expect(t, o.admin(http.MethodPost, "/v1/links", map[string]any{"code": "pv", "url": "https://example.com/1"}), http.StatusCreated, "")
		checkPushed(t, o, lastPublished(t, o, "l:pv", 1), wire.PathLinks+"pv")
		expect(t, o.admin(http.MethodPatch, "/v1/links/pv", map[string]any{"url": "https://example.com/2", "redirect": 301}), http.StatusOK, "")
		checkPushed(t, o, lastPublished(t, o, "l:pv", 2), wire.PathLinks+"pv")
		expect(t, o.admin(http.MethodDelete, "/v1/links/pv", nil), http.StatusNoContent, "")
		checkPushed(t, o, lastPublished(t, o, "l:pv", 3), wire.PathLinks+"pv")

		expect(t, o.admin(http.MethodPut, "/v1/stock/PV-1/w1", map[string]any{"on_hand": 4}), http.StatusOK, "")
		checkPushed(t, o, lastPublished(t, o, "s:PV-1", 1), wire.PathStock+"PV-1")
	})
}

// No values with PushValuesOff, for changes of a big page (a backlog such
// as a batch of links in one commit), or for a change whose key moved on
// before the tailer read it.
func TestChangesWithoutValues(t *testing.T) {
	b := backends[0]
	t.Run("PushValuesOff", func(t *testing.T) {
		o := newTestOrigin(t, b, func(c *origin.Config) { c.PushValues = origin.PushValuesOff })
		o.waitTailer()
		expect(t, o.admin(http.MethodPost, "/v1/links", map[string]any{"code": "nopush", "url": "https://example.com/1"}), http.StatusCreated, "")
		if c := lastPublished(t, o, "l:nopush", 1); c.Value != "" {
			t.Fatalf("value pushed with PushValuesOff: %q", c.Value)
		}
	})
	// One partition, so a batch of links is one page of the log, and a
	// store that does not signal commits with a tick of an hour, so the
	// tailer reads only when an admin write nudges it.
	onePartition := func(t *testing.T) store.Store {
		cfg := embedded.DefaultConfig(t.TempDir())
		cfg.Partitions = 1
		st, err := embedded.Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return plainStore{st}
	}
	hourTick := func(c *origin.Config) { c.TailInterval, c.PushValues = time.Hour, origin.PushValuesOn }
	t.Run("backlog", func(t *testing.T) {
		o := newTestOriginOn(t, onePartition(t), hourTick)
		o.waitTailer()
		ctx := context.Background()
		for i := range 100 { // more than a page of values
			if _, err := o.store.CreateLink(ctx, store.NewLink{Code: fmt.Sprintf("bk%d", i), URL: "https://example.com/b", Redirect: 302, CreatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		expect(t, o.admin(http.MethodPost, "/v1/links", map[string]any{"code": "nudge", "url": "https://example.com/n"}), http.StatusCreated, "")
		for i := range 100 {
			if c := lastPublished(t, o, keys.Key(keys.KindLink, fmt.Sprintf("bk%d", i)), 1); c.Value != "" {
				t.Fatalf("a change of a 101-change page carries a value")
			}
		}
	})
	t.Run("moved on", func(t *testing.T) {
		o := newTestOriginOn(t, onePartition(t), hourTick)
		o.waitTailer()
		ctx := context.Background()
		if _, err := o.store.CreateLink(ctx, store.NewLink{Code: "mv", URL: "https://example.com/1", Redirect: 302, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		u := "https://example.com/2"
		if _, err := o.store.UpdateLink(ctx, "mv", store.LinkPatch{URL: &u}); err != nil {
			t.Fatal(err)
		}
		expect(t, o.admin(http.MethodPost, "/v1/links", map[string]any{"code": "nudge", "url": "https://example.com/n"}), http.StatusCreated, "")
		if c := lastPublished(t, o, "l:mv", 1); c.Value != "" {
			t.Fatalf("v1's change carries a value read at v2: %q", c.Value)
		}
		checkPushed(t, o, lastPublished(t, o, "l:mv", 2), wire.PathLinks+"mv")
	})
}

// slowStore is a store whose key reads (reads) or change-log page reads
// (log) take 10 ms of the origin's fake clock, and that hides the store's
// commit signals like plainStore.
type slowStore struct {
	store.Store
	reads, log bool
	clk        interface{ Advance(time.Duration) }
}

func (s *slowStore) GetLink(ctx context.Context, code string) (store.Link, error) {
	if s.reads {
		s.clk.Advance(10 * time.Millisecond)
	}
	return s.Store.GetLink(ctx, code)
}

func (s *slowStore) Changes(ctx context.Context, partition int, after uint64, limit int) (change.Page, error) {
	if s.log {
		s.clk.Advance(10 * time.Millisecond)
	}
	return s.Store.Changes(ctx, partition, after, limit)
}

// newSlowOrigin is an origin pushing values over slow, on an embedded
// store of one partition, its tailer moved only by nudges.
func newSlowOrigin(t *testing.T, slow *slowStore) *testOrigin {
	t.Helper()
	cfg := embedded.DefaultConfig(t.TempDir())
	cfg.Partitions = 1
	st, err := embedded.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	slow.Store = st
	o := newTestOriginOn(t, slow, func(c *origin.Config) { c.TailInterval, c.PushValues = time.Hour, origin.PushValuesOn })
	slow.clk = o.clock
	o.waitTailer()
	return o
}

// One pass of the tailer reads values for at most pushValuesBudget (1 ms):
// with reads of 10 ms, the first change of the pass gets its value and the
// rest go out as plain invalidations, at once.
func TestPushedValuesKeepToTheirTimeBudget(t *testing.T) {
	o := newSlowOrigin(t, &slowStore{reads: true})
	ctx := context.Background()
	for i := range 3 {
		if _, err := o.store.CreateLink(ctx, store.NewLink{Code: fmt.Sprintf("tb%d", i), URL: "https://example.com/t", Redirect: 302, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	expect(t, o.admin(http.MethodPost, "/v1/links", map[string]any{"code": "nudge", "url": "https://example.com/n"}), http.StatusCreated, "")
	if c := lastPublished(t, o, "l:tb0", 1); c.Value == "" {
		t.Fatal("the pass's first change has no value")
	}
	for _, code := range []string{"tb1", "tb2", "nudge"} {
		if c := lastPublished(t, o, "l:"+code, 1); c.Value != "" {
			t.Fatalf("%s has a value read after the pass's budget was spent", code)
		}
	}
}

// The budget counts from the pass's first value read: a change-log read
// slower than the whole budget (as under load) must not cost a lone write
// its value. (It did: CI saw edge TestPushedValuesSpareTheRefetch fetch.)
func TestPushedValuesBudgetStartsAtTheFirstRead(t *testing.T) {
	o := newSlowOrigin(t, &slowStore{log: true})
	expect(t, o.admin(http.MethodPost, "/v1/links", map[string]any{"code": "lone", "url": "https://example.com/l"}), http.StatusCreated, "")
	if c := lastPublished(t, o, "l:lone", 1); c.Value == "" {
		t.Fatal("a lone write behind a slow log read went out without its value")
	}
}

// By default (PushValuesAuto) values are pushed by an origin on the
// embedded store, whose reads are local, and not on Redis.
func TestPushValuesAutoFollowsTheStore(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b)
		o.waitTailer()
		expect(t, o.admin(http.MethodPost, "/v1/links", map[string]any{"code": "auto", "url": "https://example.com/1"}), http.StatusCreated, "")
		c := lastPublished(t, o, "l:auto", 1)
		if want := b.name == "embedded"; (c.Value != "") != want {
			t.Fatalf("%s: value pushed = %v, want %v", b.name, c.Value != "", want)
		}
	})
}
