package edge

import (
	"fmt"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/clock"
	"github.com/shortstock/shortstock/internal/wire"
)

// TestGapGraceRunsOnConfigClock: the grace before a gap is replayed from
// the change log is measured on Config.Clock, not the wall clock. GapGrace
// is an hour; only moving the fake clock past it lets the replay happen.
func TestGapGraceRunsOnConfigClock(t *testing.T) {
	o := newFakeOrigin(t)
	fake := clock.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	codes := codesInPartition(5, 3)
	for _, c := range codes {
		o.putLink(c, "https://example.com/v1", 302)
	}
	e := newTestEdge(t, []string{o.url}, func(c *Config) { c.GapGrace = time.Hour; c.Clock = fake })
	for _, c := range codes {
		e.get("/" + c)
	}
	var last change.Change
	for _, c := range codes {
		last = o.putLink(c, "https://example.com/v2", 302)
	}
	e.srv.HandleChange(last) // head-1 and head-2 were lost
	if n := o.count(wire.PathChanges); n != 0 {
		t.Fatalf("the change log was read %d times before the fake clock moved", n)
	}
	fake.Advance(time.Hour + time.Second)
	e.srv.wake()
	eventually(t, 5*time.Second, func() string {
		if n := o.count(wire.PathChanges); n == 0 {
			return "the change log was never read after the fake clock passed GapGrace"
		}
		for _, c := range codes[:2] {
			if a := e.get("/" + c); a.version != "2" {
				return fmt.Sprintf("%s still at version %s", c, a.version)
			}
		}
		return ""
	})
}
