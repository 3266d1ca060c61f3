package origin_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin"
	"github.com/shortstock/shortstock/origin/store"
)

// plainStore hides every optional interface of the store it wraps (here:
// store.ChangeNotifier), so the tailer has only its tick and the nudges.
type plainStore struct{ store.Store }

// A write through the admin API is gossiped without waiting for the
// tailer's tick: with a tick of an hour and a store that does not signal
// its commits, the change is still published at once, because the
// answered write nudges the tailer.
func TestWriteNudgesTailer(t *testing.T) {
	b := backends[0] // the in-process store is enough: the nudge is the origin's
	o := newTestOriginOn(t, plainStore{b.open(t)}, func(c *origin.Config) { c.TailInterval = time.Hour })
	// The first write may land before the tailer took its starting heads
	// (and count as history); the second cannot.
	expect(t, o.admin(http.MethodPost, "/v1/links", map[string]any{"code": "nudge1", "url": "https://example.com/1"}), http.StatusCreated, "")
	expect(t, o.admin(http.MethodPost, "/v1/links", map[string]any{"code": "nudge2", "url": "https://example.com/2"}), http.StatusCreated, "")
	waitPublished(t, o, keys.Key(keys.KindLink, "nudge2"), "the tailer was not nudged")
}

// A commit of the embedded store wakes the tailer (store.ChangeNotifier):
// a write made straight through the store, which no request nudges, is
// published at once although the tailer's tick is an hour.
func TestStoreCommitWakesTailer(t *testing.T) {
	b := backends[0]
	o := newTestOrigin(t, b, func(c *origin.Config) { c.TailInterval = time.Hour })
	if _, ok := o.store.(store.ChangeNotifier); !ok {
		t.Fatalf("the %s store does not signal its commits", b.name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// As above, a write before the tailer took its starting heads counts
	// as history: write until one is published, or 10 s pass.
	for i := 0; ; i++ {
		sku := fmt.Sprintf("NOTIFY-%d", i)
		if _, err := o.store.SetStock(ctx, sku, "w", 1); err != nil {
			t.Fatalf("%v (no write published within 10 s with a 1 h tick: the store's commit did not wake the tailer)", err)
		}
		if published(o, keys.Key(keys.KindStock, sku), 100*time.Millisecond) {
			return
		}
	}
}

// published reports whether key's change is published within d.
func published(o *testOrigin, key string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		o.mu.Lock()
		for _, c := range o.published {
			if c.Key == key {
				o.mu.Unlock()
				return true
			}
		}
		o.mu.Unlock()
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitPublished waits up to 10 s (the tick is an hour) for key's change.
func waitPublished(t *testing.T, o *testOrigin, key, why string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		o.mu.Lock()
		found := false
		for _, c := range o.published {
			if c.Key == key {
				found = true
			}
		}
		n := len(o.published)
		o.mu.Unlock()
		if found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not published within 10 s with a 1 h tick (%d changes published): %s", key, n, why)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
