package storetest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

// ListScale is how many links TestListLinksConcurrent lists: 100 000
// with SHORTSTOCK_LINKS_LONG=1, else 5 000 (the guarantee is the same;
// the long run is the figure).
func ListScale() int {
	if os.Getenv("SHORTSTOCK_LINKS_LONG") == "1" {
		return 100000
	}
	return 5000
}

func lister(t *testing.T, s store.Store) store.LinkLister {
	t.Helper()
	l, ok := s.(store.LinkLister)
	if !ok {
		t.Fatalf("%T does not implement store.LinkLister", s)
	}
	return l
}

// listAll pages through every link (of tag) and returns the codes in
// the order seen.
func listAll(ctx context.Context, l store.LinkLister, tag string, limit int, between ...func()) ([]string, error) {
	var codes []string
	after := ""
	for {
		page, err := l.ListLinks(ctx, store.LinkQuery{Tag: tag, After: after, Limit: limit})
		if err != nil {
			return codes, err
		}
		for _, lk := range page.Links {
			if after != "" && lk.Code <= after {
				return codes, fmt.Errorf("page after %q lists %q", after, lk.Code)
			}
			codes = append(codes, lk.Code)
			after = lk.Code
		}
		if !page.More {
			return codes, nil
		}
		if len(page.Links) == 0 {
			return codes, fmt.Errorf("an empty page says there is more")
		}
		for _, f := range between {
			f()
		}
	}
}

func testListLinks(t *testing.T, s store.Store) {
	l := lister(t, s)
	var want, wantTag []string
	for i := range 60 {
		code := fmt.Sprintf("L%03d", i)
		nl := newLink(code, "https://example.com/"+code)
		if i%3 == 0 {
			nl.Tags = []string{"three", "x"}
			wantTag = append(wantTag, code)
		}
		mustCreate(t, s, nl)
		want = append(want, code)
	}
	// Deleted links leave the index (their tombstones stay behind).
	for _, code := range []string{"L000", "L007", "L059"} {
		if _, err := s.DeleteLink(t.Context(), code); err != nil {
			t.Fatal(err)
		}
		want = slices.DeleteFunc(want, func(c string) bool { return c == code })
		wantTag = slices.DeleteFunc(wantTag, func(c string) bool { return c == code })
	}
	// A tag removed by a patch leaves the tag's index.
	none := []string{"x"}
	if _, err := s.UpdateLink(t.Context(), "L003", store.LinkPatch{Tags: &none}); err != nil {
		t.Fatal(err)
	}
	wantTag = slices.DeleteFunc(wantTag, func(c string) bool { return c == "L003" })
	for _, limit := range []int{1, 7, 57, 1000} {
		got, err := listAll(t.Context(), l, "", limit)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("list with limit %d: %v, %v\n want %v", limit, got, err, want)
		}
		got, err = listAll(t.Context(), l, "three", limit)
		if err != nil || !slices.Equal(got, wantTag) {
			t.Fatalf("list tag with limit %d: %v, %v\n want %v", limit, got, err, wantTag)
		}
	}
	page, err := l.ListLinks(t.Context(), store.LinkQuery{After: "L010", Limit: 2})
	if err != nil || len(page.Links) != 2 || page.Links[0].Code != "L011" || !page.More {
		t.Fatalf("page after L010: %+v, %v", page, err)
	}
	if page.Links[0].URL != "https://example.com/L011" {
		t.Fatalf("listed link %+v", page.Links[0])
	}
	page, err = l.ListLinks(t.Context(), store.LinkQuery{Tag: "nosuchtag", Limit: 10})
	if err != nil || len(page.Links) != 0 || page.More {
		t.Fatalf("unknown tag: %+v, %v", page, err)
	}
	for _, q := range []store.LinkQuery{{Limit: 0}, {Limit: store.MaxListLimit + 1}, {Limit: 1, Tag: "bad tag"}} {
		_, err := l.ListLinks(t.Context(), q)
		wantErr(t, fmt.Sprintf("ListLinks(%+v)", q), err, store.ErrInvalid)
	}
}

// testListLinksConcurrent lists ListScale links while other goroutines
// create and delete links whose codes sit between them: every link that
// exists for the whole listing is listed exactly once, codes strictly
// grow across pages, and nothing is listed twice.
func testListLinksConcurrent(t *testing.T, s store.Store) {
	l := lister(t, s)
	n := ListScale()
	stable := make([]string, n)
	for i := range stable {
		stable[i] = fmt.Sprintf("k%06d-s", i)
	}
	createAll(t, s, stable, 8)

	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var churned atomic.Int64
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ctx.Err() == nil; i += 3 {
				code := fmt.Sprintf("k%06d-c", (i*7919)%n)
				nl := newLink(code, "https://example.com/c")
				nl.Tags = []string{"t"}
				if _, err := s.CreateLink(ctx, nl); err == nil {
					churned.Add(1)
				}
				if i%2 == 0 {
					if _, err := s.DeleteLink(ctx, code); err == nil {
						churned.Add(1)
					}
				}
			}
		}()
	}
	// Between pages, wait for the writers to change something: the
	// listing then really runs across concurrent writes, however fast
	// reads are next to writes on this machine.
	interleave := func() {
		seen := churned.Load()
		for deadline := time.Now().Add(5 * time.Second); churned.Load() < seen+2 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}
	check := func(tag string, limit int) {
		got, err := listAll(t.Context(), l, tag, limit, interleave)
		if err != nil {
			t.Errorf("listing: %v", err)
			return
		}
		seen := make(map[string]bool, len(got))
		for i, c := range got {
			if seen[c] {
				t.Errorf("%s listed twice", c)
				return
			}
			seen[c] = true
			if i > 0 && got[i-1] >= c {
				t.Errorf("out of order: %s after %s", c, got[i-1])
				return
			}
		}
		if tag == "" {
			for _, c := range stable {
				if !seen[c] {
					t.Errorf("stable link %s not listed (%d listed)", c, len(got))
					return
				}
			}
		}
	}
	check("", min(max(n/20, 1), store.MaxListLimit))
	check("t", 50)
	cancel()
	wg.Wait()
	if churned.Load() == 0 {
		t.Fatal("no concurrent create succeeded during the listing")
	}
	t.Logf("listed %d stable links while %d creates and deletes ran concurrently", n, churned.Load())
}

// createAll creates links for codes with several writers (bbolt batches
// concurrent writes; Redis pipelines them over connections).
func createAll(t *testing.T, s store.Store, codes []string, writers int) {
	t.Helper()
	var wg sync.WaitGroup
	var failed atomic.Value
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(codes); i += writers {
				if _, err := s.CreateLink(t.Context(), newLink(codes[i], "https://example.com/"+codes[i])); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
}
