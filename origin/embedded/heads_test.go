package embedded_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/origin/store"
)

// Heads answers from memory; it must always equal what the file holds:
// after concurrent writes over many partitions (link creations and stock
// adjusts, batched into shared commits), and after a reopen.
func TestHeadsMatchTheFile(t *testing.T) {
	cfg := embedded.DefaultConfig(t.TempDir())
	cfg.NoSync = true
	s := open(t, cfg)
	ctx := t.Context()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				code := fmt.Sprintf("h%d-%d", w, i)
				if _, err := s.CreateLink(ctx, store.NewLink{Code: code, URL: "https://example.com/" + code, Redirect: 302}); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.AdjustStock(ctx, fmt.Sprintf("SKU-%d-%d", w, i%7), "w1", 1); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	check := func(s *embedded.Store, when string) []uint64 {
		t.Helper()
		got, err := s.Heads(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want, err := embedded.FileHeads(s)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			for p := range want {
				if got[p] != want[p] {
					t.Fatalf("%s: Heads says partition %d is at %d, the file at %d", when, p, got[p], want[p])
				}
			}
		}
		return got
	}
	before := check(s, "after the writes")
	moved := 0
	for _, h := range before {
		if h > 0 {
			moved++
		}
	}
	if moved < 100 {
		t.Fatalf("only %d partitions have changes; the writes should spread over hundreds", moved)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, cfg)
	if after := check(s2, "after a reopen"); !slices.Equal(after, before) {
		t.Fatal("heads changed across a reopen")
	}
}

// BenchmarkHeads is one edge's heads poll at 1024 partitions.
//
//	go test -run '^$' -bench BenchmarkHeads ./origin/embedded/
func BenchmarkHeads(b *testing.B) {
	cfg := embedded.DefaultConfig(b.TempDir())
	cfg.NoSync = true
	s := open(b, cfg)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Heads(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}
