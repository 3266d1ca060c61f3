package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// coldTests check store.ColdLinks, the cold tier's hooks.
var coldTests = []test{
	{"ColdEvictPromote", testColdEvictPromote},
	{"ColdActivity", testColdActivity},
	{"ColdEvictRefusedWhenMoved", testColdEvictRefusedWhenMoved},
	{"ColdCreateGuard", testColdCreateGuard},
	{"ColdPaging", testColdPaging},
	{"ColdConcurrentWriteDuringEvict", testColdConcurrentWriteDuringEvict},
	{"ColdTierID", testColdTierID},
}

func testColdTierID(t *testing.T, s store.Store) {
	cl := s.(store.ColdLinks)
	got, err := cl.ColdTierID(t.Context(), "bucket-a")
	if err != nil || got != "bucket-a" {
		t.Fatalf("first ColdTierID = %q, %v", got, err)
	}
	got, err = cl.ColdTierID(t.Context(), "bucket-b")
	if err != nil || got != "bucket-a" {
		t.Fatalf("second ColdTierID = %q, %v; want the first one kept", got, err)
	}
	if _, err := cl.ColdTierID(t.Context(), ""); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("empty id: %v", err)
	}
}

// RunCold runs the cold-tier hook checks on a store that implements
// store.ColdLinks, each on a fresh store as Run does.
func RunCold(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	for _, tc := range coldTests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { _ = s.Close() })
			if _, ok := s.(store.ColdLinks); !ok {
				t.Fatalf("%T does not implement store.ColdLinks", s)
			}
			tc.fn(t, s)
		})
	}
}

func linkPart(s store.Store, code string) int { return s.Partitions().Partition(keys.KindLink, code) }

// candidates scans a whole partition (stamping as it goes).
func candidates(t *testing.T, s store.Store, p int, before, now time.Time) []store.ColdCandidate {
	t.Helper()
	cl := s.(store.ColdLinks)
	var out []store.ColdCandidate
	after := ""
	for i := 0; ; i++ {
		c, next, err := cl.ColdCandidates(t.Context(), p, after, before, now, 2)
		if err != nil {
			t.Fatalf("ColdCandidates(%d): %v", p, err)
		}
		out = append(out, c...)
		if next == "" {
			return out
		}
		if next <= after || i > 10000 {
			t.Fatalf("ColdCandidates cursor went from %q to %q", after, next)
		}
		after = next
	}
}

func findCandidate(cs []store.ColdCandidate, code string) (store.ColdCandidate, bool) {
	for _, c := range cs {
		if c.Link.Code == code {
			return c, true
		}
	}
	return store.ColdCandidate{}, false
}

// idle makes code a candidate: a first scan stamps its version at now, a
// second one (before later than now) lists it.
func idle(t *testing.T, s store.Store, code string, now time.Time) store.ColdCandidate {
	t.Helper()
	p := linkPart(s, code)
	candidates(t, s, p, now, now)
	c, ok := findCandidate(candidates(t, s, p, now.Add(time.Hour), now.Add(time.Hour)), code)
	if !ok {
		t.Fatalf("%s is not a cold candidate after a scan at %v", code, now)
	}
	return c
}

func testColdEvictPromote(t *testing.T, s store.Store) {
	cl := s.(store.ColdLinks)
	ctx := t.Context()
	nl := newLink("cold1", "https://example.com/cold")
	nl.Tags = []string{"t1"}
	mustCreate(t, s, nl)
	if _, err := s.UpdateLink(ctx, "cold1", store.LinkPatch{Title: ptr("T")}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddClicks(ctx, map[string]int64{"cold1": 3}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(time.Hour)
	c := idle(t, s, "cold1", now)
	if c.Link.Version != 2 || c.Link.Clicks != 3 || c.Link.Title != "T" || len(c.Link.Tags) != 1 {
		t.Fatalf("candidate %+v; want version 2, 3 clicks, title and tag", c.Link)
	}
	p := linkPart(s, "cold1")
	before, err := cl.Evictions(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	w := watchLog(t, s)
	if err := cl.EvictLink(ctx, c); err != nil {
		t.Fatalf("EvictLink: %v", err)
	}
	got, err := s.GetLink(ctx, "cold1")
	wantErr(t, "GetLink of an evicted link", err, store.ErrNotFound)
	if got.Version != 0 {
		t.Fatalf("evicted link reads at version %d; want 0 (no hot record)", got.Version)
	}
	if n, _ := cl.Evictions(ctx, p); n != before+1 {
		t.Fatalf("evictions %d -> %d; want +1", before, n)
	}
	if err := cl.EvictLink(ctx, c); !errors.Is(err, store.ErrVersionMismatch) {
		t.Fatalf("second EvictLink: %v; want ErrVersionMismatch", err)
	}
	if lister, ok := s.(store.LinkLister); ok {
		pg, err := lister.ListLinks(ctx, store.LinkQuery{Tag: "t1", Limit: 10})
		if err == nil && len(pg.Links) != 0 {
			t.Fatalf("evicted link still listed by tag: %+v", pg.Links)
		}
	}
	if err := cl.PromoteLink(ctx, c.Link, now); err != nil {
		t.Fatalf("PromoteLink: %v", err)
	}
	back := mustGetLink(t, s, "cold1")
	if back.Version != 2 || back.Clicks != 3 || back.Title != "T" || back.URL != c.Link.URL {
		t.Fatalf("promoted %+v; want %+v", back, c.Link)
	}
	if err := cl.PromoteLink(ctx, c.Link, now); !errors.Is(err, store.ErrCodeTaken) {
		t.Fatalf("PromoteLink over a hot record: %v; want ErrCodeTaken", err)
	}
	w.unchanged("evict and promote")
	// Versions only grow after a promotion.
	up, err := s.UpdateLink(ctx, "cold1", store.LinkPatch{Title: ptr("U")})
	if err != nil || up.Version != 3 {
		t.Fatalf("update after promote: %+v, %v; want version 3", up, err)
	}
	// A tombstone is never a candidate and blocks a promotion.
	if _, err := s.DeleteLink(ctx, "cold1"); err != nil {
		t.Fatal(err)
	}
	if _, ok := findCandidate(candidates(t, s, p, now.Add(48*time.Hour), now.Add(48*time.Hour)), "cold1"); ok {
		t.Fatal("a tombstone is a cold candidate")
	}
	if err := cl.PromoteLink(ctx, c.Link, now); !errors.Is(err, store.ErrCodeTaken) {
		t.Fatalf("PromoteLink over a tombstone: %v; want ErrCodeTaken", err)
	}
}

func ptr[T any](v T) *T { return &v }

func testColdActivity(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, newLink("act1", "https://example.com/a"))
	mv := newLink("act2", "https://example.com/b")
	mv.MaxVisits = ptr(int64(5))
	mustCreate(t, s, mv)
	now := time.Now().Add(time.Hour)
	p1, p2 := linkPart(s, "act1"), linkPart(s, "act2")
	// The first scan stamps; nothing is idle since before "now".
	for _, p := range []int{p1, p2} {
		if c := candidates(t, s, p, now, now); len(c) != 0 {
			t.Fatalf("first scan lists %+v; a link never seen is active", c)
		}
		if c := candidates(t, s, p, now, now); len(c) != 0 {
			t.Fatalf("scan lists %+v idle since %v; they were stamped at it", c, now)
		}
	}
	later := now.Add(time.Hour)
	if _, ok := findCandidate(candidates(t, s, p1, later, later), "act1"); !ok {
		t.Fatal("act1 not idle an hour after its stamp")
	}
	if _, ok := findCandidate(candidates(t, s, p2, later, later), "act2"); ok {
		t.Fatal("a link with a visit limit is a cold candidate")
	}
	// A write is activity: the next scan restamps the new version.
	if _, err := s.UpdateLink(ctx, "act1", store.LinkPatch{Title: ptr("x")}); err != nil {
		t.Fatal(err)
	}
	if _, ok := findCandidate(candidates(t, s, p1, later, later), "act1"); ok {
		t.Fatal("a link written since its stamp is still a candidate")
	}
	if _, ok := findCandidate(candidates(t, s, p1, later.Add(time.Minute), later), "act1"); !ok {
		t.Fatal("act1 not idle after its restamp")
	}
	// A click is activity (at the store's clock: real time, before "now").
	if err := s.AddClicks(ctx, map[string]int64{"act1": 1}); err != nil {
		t.Fatal(err)
	}
	if _, ok := findCandidate(candidates(t, s, p1, time.Now().Add(-time.Minute), later), "act1"); ok {
		t.Fatal("a link clicked a moment ago is idle since a minute ago")
	}
}

func testColdEvictRefusedWhenMoved(t *testing.T, s store.Store) {
	cl := s.(store.ColdLinks)
	ctx := t.Context()
	now := time.Now().Add(time.Hour)
	for _, code := range []string{"mv1", "mv2", "mv3"} {
		mustCreate(t, s, newLink(code, "https://example.com/"+code))
	}
	c1, c2, c3 := idle(t, s, "mv1", now), idle(t, s, "mv2", now), idle(t, s, "mv3", now)
	if _, err := s.UpdateLink(ctx, "mv1", store.LinkPatch{Title: ptr("moved")}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddClicks(ctx, map[string]int64{"mv2": 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteLink(ctx, "mv3"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []store.ColdCandidate{c1, c2, c3} {
		if err := cl.EvictLink(ctx, c); !errors.Is(err, store.ErrVersionMismatch) {
			t.Fatalf("EvictLink(%s) after a write/click/delete: %v; want ErrVersionMismatch", c.Link.Code, err)
		}
	}
	if l := mustGetLink(t, s, "mv1"); l.Version != 2 || l.Title != "moved" {
		t.Fatalf("mv1 = %+v; want the write at version 2", l)
	}
	if l := mustGetLink(t, s, "mv2"); l.Clicks != 1 {
		t.Fatalf("mv2 = %+v; want its click", l)
	}
	if l, err := s.GetLink(ctx, "mv3"); !errors.Is(err, store.ErrNotFound) || l.Version != 2 {
		t.Fatalf("mv3 = %+v, %v; want the tombstone at 2", l, err)
	}
}

// sameParts returns n codes of one partition.
func samePart(s store.Store, n int) []string {
	byPart := map[int][]string{}
	for i := 0; ; i++ {
		code := fmt.Sprintf("sp%d", i)
		p := linkPart(s, code)
		byPart[p] = append(byPart[p], code)
		if len(byPart[p]) == n {
			return byPart[p]
		}
	}
}

func testColdCreateGuard(t *testing.T, s store.Store) {
	cl := s.(store.ColdLinks)
	ctx := t.Context()
	codes := samePart(s, 3)
	p := linkPart(s, codes[0])
	mustCreate(t, s, newLink(codes[0], "https://example.com/0"))
	n0, err := cl.Evictions(ctx, p)
	if err != nil || n0 != 0 {
		t.Fatalf("Evictions = %d, %v; want 0", n0, err)
	}
	c := idle(t, s, codes[0], time.Now().Add(time.Hour))
	if err := cl.EvictLink(ctx, c); err != nil {
		t.Fatal(err)
	}
	w := watchLog(t, s)
	if _, err := cl.CreateLinkCold(ctx, newLink(codes[1], "https://example.com/1"), n0); !errors.Is(err, store.ErrEvictionsMoved) {
		t.Fatalf("CreateLinkCold under a stale counter: %v; want ErrEvictionsMoved", err)
	}
	w.unchanged("a refused CreateLinkCold")
	if _, err := s.GetLink(ctx, codes[1]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("refused create left %s: %v", codes[1], err)
	}
	l, err := cl.CreateLinkCold(ctx, newLink(codes[1], "https://example.com/1"), n0+1)
	if err != nil || l.Version != 1 {
		t.Fatalf("CreateLinkCold: %+v, %v", l, err)
	}
	w.wrote(linkKey(codes[1]), 1)
	if _, err := cl.CreateLinkCold(ctx, newLink(codes[1], "https://example.com/1"), n0+1); !errors.Is(err, store.ErrCodeTaken) {
		t.Fatalf("CreateLinkCold of a hot code: %v; want ErrCodeTaken", err)
	}
	// The hot tier alone cannot tell the evicted code is taken: that is
	// the origin's cold check (Version 0 here).
	if got, err := s.GetLink(ctx, codes[0]); !errors.Is(err, store.ErrNotFound) || got.Version != 0 {
		t.Fatalf("evicted %s: %+v, %v", codes[0], got, err)
	}
}

func testColdPaging(t *testing.T, s store.Store) {
	codes := samePart(s, 7)
	for _, c := range codes {
		mustCreate(t, s, newLink(c, "https://example.com/"+c))
	}
	now := time.Now().Add(time.Hour)
	p := linkPart(s, codes[0])
	candidates(t, s, p, now, now)
	got := candidates(t, s, p, now.Add(time.Hour), now)
	seen := map[string]bool{}
	for _, c := range got {
		if seen[c.Link.Code] {
			t.Fatalf("%s listed twice", c.Link.Code)
		}
		seen[c.Link.Code] = true
	}
	for _, c := range codes {
		if !seen[c] {
			t.Fatalf("paging missed %s (got %d)", c, len(got))
		}
	}
}

// testColdConcurrentWriteDuringEvict races EvictLink against UpdateLink
// and AddClicks on the same links: a link is evicted only if neither
// landed after it was listed; every write that succeeded is readable.
func testColdConcurrentWriteDuringEvict(t *testing.T, s store.Store) {
	cl := s.(store.ColdLinks)
	ctx := t.Context()
	const n = 40
	codes := make([]string, n)
	for i := range codes {
		codes[i] = fmt.Sprintf("race%d", i)
		mustCreate(t, s, newLink(codes[i], "https://example.com/r"))
	}
	now := time.Now().Add(time.Hour)
	cands := make([]store.ColdCandidate, n)
	for i, c := range codes {
		cands[i] = idle(t, s, c, now)
	}
	evicted := make([]bool, n)
	updated := make([]bool, n)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Add(2)
		go func() {
			defer wg.Done()
			err := cl.EvictLink(ctx, cands[i])
			if err != nil && !errors.Is(err, store.ErrVersionMismatch) {
				t.Errorf("EvictLink: %v", err)
			}
			evicted[i] = err == nil
		}()
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				_, err := s.UpdateLink(ctx, codes[i], store.LinkPatch{Title: ptr("w")})
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					t.Errorf("UpdateLink: %v", err)
				}
				updated[i] = err == nil
			} else {
				_ = s.AddClicks(ctx, map[string]int64{codes[i]: 1})
				l, err := s.GetLink(ctx, codes[i])
				updated[i] = err == nil && l.Clicks == 1
			}
		}()
	}
	wg.Wait()
	for i, code := range codes {
		l, err := s.GetLink(ctx, code)
		switch {
		case evicted[i] && updated[i] && i%2 == 0:
			t.Fatalf("%s: evicted and updated both succeeded", code)
		case evicted[i] && (err == nil || l.Version != 0):
			t.Fatalf("%s: evicted but hot reads %+v, %v", code, l, err)
		case !evicted[i] && err != nil:
			t.Fatalf("%s: not evicted but %v", code, err)
		case !evicted[i] && i%2 == 0 && updated[i] && l.Version != 2:
			t.Fatalf("%s: updated but at version %d", code, l.Version)
		}
	}
}
