package origin_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin"
)

// A write through the admin API is gossiped without waiting for the
// tailer's tick: with a tick of an hour, the change is still published
// at once, because the answered write nudges the tailer.
func TestWriteNudgesTailer(t *testing.T) {
	b := backends[0] // the in-process store is enough: the nudge is the origin's
	o := newTestOrigin(t, b, func(c *origin.Config) { c.TailInterval = time.Hour })
	// The first write may land before the tailer took its starting heads
	// (and count as history); the second cannot.
	expect(t, o.admin(http.MethodPost, "/v1/links", map[string]any{"code": "nudge1", "url": "https://example.com/1"}), http.StatusCreated, "")
	expect(t, o.admin(http.MethodPost, "/v1/links", map[string]any{"code": "nudge2", "url": "https://example.com/2"}), http.StatusCreated, "")
	deadline := time.Now().Add(10 * time.Second)
	for {
		o.mu.Lock()
		found := false
		for _, c := range o.published {
			if c.Key == keys.Key(keys.KindLink, "nudge2") {
				found = true
			}
		}
		keys := len(o.published)
		o.mu.Unlock()
		if found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the write was not published within 10 s with a 1 h tick (%d changes published): the tailer was not nudged", keys)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
