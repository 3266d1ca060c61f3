package edge

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/wire"
)

// codesInPartition returns n link codes of partition p.
func codesInPartition(p, n int) []string {
	var out []string
	for i := 0; len(out) < n; i++ {
		c := "c" + strconv.Itoa(i)
		if keys.DefaultSpace().Partition(keys.KindLink, c) == p {
			out = append(out, c)
		}
	}
	return out
}

func expectLink(t *testing.T, e *testEdge, code, version, cache string) {
	t.Helper()
	a := e.get("/" + code)
	if a.version != version || (cache != "" && a.cache != cache) {
		t.Fatalf("GET /%s: version %s X-Cache %s, want version %s %s", code, a.version, a.cache, version, cache)
	}
}

func TestHandleChangeInvalidatesAndIsIdempotent(t *testing.T) {
	o := newFakeOrigin(t)
	o.putLink("inv", "https://example.com/1", 302)
	e := newTestEdge(t, []string{o.url})
	e.get("/inv")
	expectLink(t, e, "inv", "1", "HIT")
	c := o.putLink("inv", "https://example.com/2", 302)
	expectLink(t, e, "inv", "1", "HIT") // not told yet
	e.srv.HandleChange(c)
	expectLink(t, e, "inv", "2", "MISS")
	expectLink(t, e, "inv", "2", "HIT")
	// The refill told the origin which version it must reach (so a
	// lagging replica is bypassed); the first fill asked for none.
	var withMin int64
	o.calls.Range(func(k, v any) bool {
		if strings.HasPrefix(k.(string), wire.QueryMinVersion+"=") {
			withMin += v.(*atomic.Int64).Load()
		}
		return true
	})
	if n := o.count(wire.QueryMinVersion + "=2"); n != 1 || withMin != 1 {
		t.Fatalf("fetches with min_version=2: %d, with any min_version: %d; want 1 and 1", n, withMin)
	}
	// Replays and duplicates change nothing.
	e.srv.HandleChange(c)
	e.srv.HandleChange(change.Change{Partition: c.Partition, Seq: c.Seq, Key: c.Key, Version: 1})
	expectLink(t, e, "inv", "2", "HIT")
	// Malformed changes are ignored.
	for _, bad := range []change.Change{
		{Partition: c.Partition, Seq: c.Seq + 1, Key: "x:inv", Version: 9},
		{Partition: (c.Partition + 1) % keys.DefaultPartitions, Seq: 1, Key: c.Key, Version: 9},
		{Partition: c.Partition, Seq: 0, Key: c.Key, Version: 9},
		{Partition: c.Partition, Seq: c.Seq + 1, Key: "l:bad/code", Version: 9},
	} {
		e.srv.HandleChange(bad)
	}
	expectLink(t, e, "inv", "2", "HIT")
}

func TestNegativeCachingSupersededByCreate(t *testing.T) {
	o := newFakeOrigin(t)
	e := newTestEdge(t, []string{o.url}, func(c *Config) { c.NegativeTTL = time.Hour })
	if a := e.get("/soon"); a.status != 404 || a.cache != "MISS" || a.version != "0" {
		t.Fatalf("unknown: %+v", a)
	}
	if a := e.get("/soon"); a.status != 404 || a.cache != "HIT" {
		t.Fatalf("the 404 is not cached: %+v", a)
	}
	c := o.putLink("soon", "https://example.com/now", 307)
	e.srv.HandleChange(c)
	if a := e.get("/soon"); a.status != 307 || a.loc != "https://example.com/now" || a.version != "1" {
		t.Fatalf("after create: %+v", a)
	}
	// And a delete turns it back into a versioned 404.
	d := o.deleteLink("soon")
	e.srv.HandleChange(d)
	if a := e.get("/soon"); a.status != 404 || a.version != "2" {
		t.Fatalf("after delete: %+v", a)
	}
}

// TestGapReplayFromChangesEndpoint: of three writes to one partition only
// the last arrives by gossip; the edge reads the two it missed from the
// origin's change log and drops those entries too.
func TestGapReplayFromChangesEndpoint(t *testing.T) {
	o := newFakeOrigin(t)
	codes := codesInPartition(7, 3)
	for _, c := range codes {
		o.putLink(c, "https://example.com/v1", 302)
	}
	e := newTestEdge(t, []string{o.url})
	for _, c := range codes {
		e.get("/" + c)
	}
	var last change.Change
	for _, c := range codes {
		last = o.putLink(c, "https://example.com/v2", 302)
	}
	e.srv.HandleChange(last) // seq head; head-1 and head-2 were lost
	eventually(t, 2*time.Second, func() string {
		for _, c := range codes {
			if a := e.get("/" + c); a.version != "2" {
				return fmt.Sprintf("%s still at version %s after the gap replay", c, a.version)
			}
		}
		return ""
	})
	if n := o.count(wire.PathChanges); n == 0 {
		t.Fatal("the changes endpoint was never read")
	}
}

// TestOutOfOrderGossipNeedsNoReplay: changes that arrive out of order but
// within GapGrace fill their own hole.
func TestOutOfOrderGossipNeedsNoReplay(t *testing.T) {
	o := newFakeOrigin(t)
	codes := codesInPartition(9, 2)
	e := newTestEdge(t, []string{o.url}, func(c *Config) { c.GapGrace = 200 * time.Millisecond })
	c1 := o.putLink(codes[0], "https://example.com/a", 302)
	c2 := o.putLink(codes[1], "https://example.com/b", 302)
	e.srv.HandleChange(c2)
	e.srv.HandleChange(c1)
	time.Sleep(300 * time.Millisecond)
	if n := o.count(wire.PathChanges); n != 0 {
		t.Fatalf("the changes endpoint was read %d times for a hole gossip filled", n)
	}
	if last, target := e.srv.marks.position(9); last != c2.Seq || target != c2.Seq {
		t.Fatalf("partition 9 at %d (target %d), want %d", last, target, c2.Seq)
	}
}

// TestTrimmedLogDropsPartition: when the changes missed are no longer in
// the log, every entry of the partition is dropped (and no other).
func TestTrimmedLogDropsPartition(t *testing.T) {
	o := newFakeOrigin(t)
	codes := codesInPartition(11, 2)
	other := codesInPartition(12, 1)[0]
	for _, c := range append(codes, other) {
		o.putLink(c, "https://example.com/v1", 302)
	}
	e := newTestEdge(t, []string{o.url})
	for _, c := range append(codes, other) {
		e.get("/" + c)
	}
	o.putLink(codes[0], "https://example.com/v2", 302)
	last := o.putLink(codes[1], "https://example.com/v2", 302)
	o.trim(11, last.Seq) // everything, the last change included, is gone
	e.srv.ObserveHeads(headsOf(o))
	eventually(t, 2*time.Second, func() string {
		if a := e.get("/" + codes[0]); a.version != "2" {
			return "the dropped partition's entry is still served: version " + a.version
		}
		return ""
	})
	expectLink(t, e, codes[1], "2", "")
	expectLink(t, e, other, "1", "HIT")
	if n := testutilCounter(e, "shortstock_edge_partition_drops_total"); n != "1" {
		t.Fatalf("partition drops = %s, want 1", n)
	}
}

// TestHeadsPollCatchesUpWithoutGossip: with no gossip at all, the periodic
// heads poll finds writes and replays them.
func TestHeadsPollCatchesUpWithoutGossip(t *testing.T) {
	o := newFakeOrigin(t)
	o.putStock("P1", 1)
	e := newTestEdge(t, []string{o.url}, func(c *Config) { c.HeadsPollInterval = 30 * time.Millisecond })
	if a := e.get("/v1/stock/P1"); a.version != "1" {
		t.Fatalf("warm: %+v", a)
	}
	o.putStock("P1", 2)
	eventually(t, 2*time.Second, func() string {
		if a := e.get("/v1/stock/P1"); a.version != "2" {
			return "stock still at version " + a.version
		}
		return ""
	})
}

// TestFirstContactDoesNotReplayHistory: an edge starting against an origin
// with a long history reads the heads, not the log.
func TestFirstContactDoesNotReplayHistory(t *testing.T) {
	o := newFakeOrigin(t)
	for i := range 500 {
		o.putLink("h"+strconv.Itoa(i), "https://example.com/", 302)
	}
	e := newTestEdge(t, []string{o.url}, func(c *Config) { c.HeadsPollInterval = 20 * time.Millisecond })
	time.Sleep(100 * time.Millisecond)
	if n := o.count(wire.PathChanges); n != 0 {
		t.Fatalf("a fresh edge read the change log %d times", n)
	}
	if n := o.count(wire.PathHeads); n < 2 {
		t.Fatalf("heads read %d times", n)
	}
	if !e.srv.marks.isKnown() {
		t.Fatal("watermarks not initialized")
	}
}

// TestFirstContactWhenTheOriginComesLate: an edge started with its origin
// down starts tracking once the origin answers.
func TestFirstContactWhenTheOriginComesLate(t *testing.T) {
	o := newFakeOrigin(t)
	o.kill()
	e := newTestEdge(t, []string{o.url}, func(c *Config) { c.HeadsPollInterval = 20 * time.Millisecond })
	if e.srv.marks.isKnown() {
		t.Fatal("initialized without an origin")
	}
	o.restart()
	eventually(t, 3*time.Second, func() string {
		if !e.srv.marks.isKnown() {
			return "watermarks never initialized"
		}
		return ""
	})
}

func headsOf(o *fakeOrigin) []uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	h := make([]uint64, keys.DefaultPartitions)
	for p := range o.log {
		h[p] = uint64(len(o.log[p]))
	}
	return h
}
