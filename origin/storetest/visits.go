package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

func leaser(t *testing.T, s store.Store) store.VisitLeaser {
	t.Helper()
	l, ok := s.(store.VisitLeaser)
	if !ok {
		t.Fatalf("%T does not implement store.VisitLeaser", s)
	}
	return l
}

func limitedLink(t *testing.T, s store.Store, code string, maxVisits int64) {
	t.Helper()
	nl := newLink(code, "https://example.com/"+code)
	nl.MaxVisits = &maxVisits
	mustCreate(t, s, nl)
}

func mustLease(t *testing.T, l store.VisitLeaser, r store.LeaseRequest) store.Lease {
	t.Helper()
	if r.Divide == 0 {
		r.Divide = 1
	}
	if r.TTL == 0 {
		r.TTL = time.Minute
	}
	if r.Now.IsZero() {
		r.Now = t0
	}
	out, err := l.LeaseVisits(t.Context(), r)
	if err != nil {
		t.Fatalf("LeaseVisits(%+v): %v", r, err)
	}
	return out
}

func testVisitLeases(t *testing.T, s store.Store) {
	l := leaser(t, s)
	limitedLink(t, s, "lim", 10)
	w := watchLog(t, s)
	if g := mustLease(t, l, store.LeaseRequest{Code: "lim", NewID: "a", Want: 4}); g.Granted != 4 || g.Available != 6 {
		t.Fatalf("lease a: %+v", g)
	}
	// A retried request (same id) gets the same lease, not another.
	if g := mustLease(t, l, store.LeaseRequest{Code: "lim", NewID: "a", Want: 4}); g.Granted != 4 || g.Available != 6 {
		t.Fatalf("lease a again: %+v", g)
	}
	// Divide caps a share: ceil(6/4) = 2.
	if g := mustLease(t, l, store.LeaseRequest{Code: "lim", NewID: "b", Want: 100, Divide: 4}); g.Granted != 2 || g.Available != 4 {
		t.Fatalf("lease b: %+v", g)
	}
	if g := mustLease(t, l, store.LeaseRequest{Code: "lim", NewID: "c", Want: 100}); g.Granted != 4 || g.Available != 0 {
		t.Fatalf("lease c: %+v", g)
	}
	if g := mustLease(t, l, store.LeaseRequest{Code: "lim", NewID: "d", Want: 1}); g.Granted != 0 {
		t.Fatalf("lease past the limit: %+v", g)
	}
	// a comes back with 1 used: 3 go back and are leased again.
	if g := mustLease(t, l, store.LeaseRequest{Code: "lim", ReturnID: "a", Used: 1, NewID: "e", Want: 100}); g.Granted != 3 || g.Available != 0 {
		t.Fatalf("lease e after returning a: %+v", g)
	}
	// Returning an unknown or settled lease changes nothing.
	if g := mustLease(t, l, store.LeaseRequest{Code: "lim", ReturnID: "a", Used: 0}); g.Granted != 0 || g.Available != 0 {
		t.Fatalf("returning a twice: %+v", g)
	}
	// Leases not back by their expiry count as used: nothing comes free.
	if g := mustLease(t, l, store.LeaseRequest{Code: "lim", NewID: "f", Want: 100, Now: t0.Add(2 * time.Minute)}); g.Granted != 0 || g.Available != 0 {
		t.Fatalf("after expiry: %+v", g)
	}
	w.unchanged("leases")
	if lk := mustGetLink(t, s, "lim"); lk.Version != 1 {
		t.Fatalf("leases changed the version: %+v", lk)
	}

	// Raising max_visits makes more available; clearing it makes the
	// link unlimited.
	more := int64(15)
	if _, err := s.UpdateLink(t.Context(), "lim", store.LinkPatch{MaxVisits: &more}); err != nil {
		t.Fatal(err)
	}
	if g := mustLease(t, l, store.LeaseRequest{Code: "lim", NewID: "g", Want: 100, Now: t0.Add(3 * time.Minute)}); g.Granted != 5 {
		t.Fatalf("after raising max_visits: %+v", g)
	}
	if _, err := s.UpdateLink(t.Context(), "lim", store.LinkPatch{ClearMaxVisits: true}); err != nil {
		t.Fatal(err)
	}
	if g := mustLease(t, l, store.LeaseRequest{Code: "lim", NewID: "h", Want: 1}); !g.Unlimited {
		t.Fatalf("after clearing max_visits: %+v", g)
	}
	mustCreate(t, s, newLink("free", "https://example.com/free"))
	if g := mustLease(t, l, store.LeaseRequest{Code: "free", NewID: "x", Want: 1}); !g.Unlimited {
		t.Fatalf("a link without max_visits: %+v", g)
	}
	_, err := l.LeaseVisits(t.Context(), store.LeaseRequest{Code: "nosuch", NewID: "x", Want: 1, Divide: 1, TTL: time.Minute, Now: t0})
	wantErr(t, "lease of an unknown link", err, store.ErrNotFound)
	for _, bad := range []store.LeaseRequest{
		{Code: "free", NewID: "x", Want: -1, Divide: 1, TTL: time.Minute},
		{Code: "free", NewID: "x", Want: 1, Divide: 0, TTL: time.Minute},
		{Code: "free", NewID: "x", Want: 1, Divide: 1, TTL: 0},
		{Code: "free", NewID: "x", ReturnID: "x", Want: 1, Divide: 1, TTL: time.Minute},
		{Code: "free", NewID: "bad id", Want: 1, Divide: 1, TTL: time.Minute},
	} {
		_, err := l.LeaseVisits(t.Context(), bad)
		wantErr(t, fmt.Sprintf("LeaseVisits(%+v)", bad), err, store.ErrInvalid)
	}
}

// testVisitLeasesConcurrent: holders that lease, use every visit and
// come back for more, all at once, are granted max_visits in total,
// exactly.
func testVisitLeasesConcurrent(t *testing.T, s store.Store) {
	l := leaser(t, s)
	const maxVisits = 500
	limitedLink(t, s, "hot", maxVisits)
	var total atomic.Int64
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prev := ""
			var prevN int64
			for i := 0; ; i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				g, err := l.LeaseVisits(t.Context(), store.LeaseRequest{Code: "hot", ReturnID: prev, Used: prevN, NewID: id, Want: 7, Divide: 4, TTL: time.Minute, Now: t0})
				if err != nil {
					t.Error(err)
					return
				}
				if g.Granted == 0 {
					if g.Available == 0 {
						return
					}
					continue
				}
				total.Add(g.Granted)
				prev, prevN = id, g.Granted
			}
		}()
	}
	wg.Wait()
	if got := total.Load(); got != maxVisits {
		t.Fatalf("granted %d visits in total, want exactly %d", got, maxVisits)
	}
}
