package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/origin/store"
)

// TestCompactGivesBackFreedPagesAndKeepsEveryRecord: after most links are
// deleted the file keeps its size; Compact shrinks it to the pages in use,
// and the store reopens with every live link at its version, every
// deleted one gone, the same heads and the same partition count.
func TestCompactGivesBackFreedPagesAndKeepsEveryRecord(t *testing.T) {
	ctx := context.Background()
	cfg := embedded.DefaultConfig(t.TempDir())
	cfg.Partitions = 16
	s, err := embedded.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const n = 4000
	long := strings.Repeat("x", 1500)
	batch := make([]store.NewLink, 0, n)
	for i := range n {
		batch = append(batch, store.NewLink{Code: fmt.Sprintf("c%05d", i), URL: "https://example.com/" + long, Redirect: 302})
	}
	if _, err := s.CreateLinks(ctx, batch); err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{}
	for i := range n {
		code := fmt.Sprintf("c%05d", i)
		if i%10 == 0 {
			l, err := s.GetLink(ctx, code)
			if err != nil {
				t.Fatal(err)
			}
			want[code] = l.Version
			continue
		}
		if _, err := s.DeleteLink(ctx, code); err != nil {
			t.Fatal(err)
		}
	}
	heads, err := s.Heads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	res, err := embedded.Compact(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.After <= 0 || res.After*2 > res.Before {
		t.Fatalf("Compact %+v: want the file at most half its size (90%% of the links deleted)", res)
	}
	if st, err := os.Stat(cfg.Path()); err != nil || st.Size() != res.After {
		t.Fatalf("file after Compact: %v, %v; reported %d", st, err, res.After)
	}
	if _, err := os.Stat(cfg.Path() + ".compact"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the temporary copy is left behind: %v", err)
	}

	s = open(t, cfg)
	if s.Partitions().N() != 16 {
		t.Fatalf("partitions after Compact: %d", s.Partitions().N())
	}
	for i := range n {
		code := fmt.Sprintf("c%05d", i)
		l, err := s.GetLink(ctx, code)
		if v, live := want[code]; live {
			if err != nil || l.Version != v {
				t.Fatalf("%s after Compact: %+v, %v; want version %d", code, l, err, v)
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted %s after Compact: %+v, %v", code, l, err)
		}
	}
	got, err := s.Heads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for p := range heads {
		if got[p] != heads[p] {
			t.Fatalf("partition %d head %d after Compact, %d before", p, got[p], heads[p])
		}
	}
}

// TestCompactRefusesAStoreInUse: while a Store (an origin) has the file
// open, Compact fails naming the lock and changes nothing; a copy left by
// a crashed Compact does not stop the next one.
func TestCompactRefusesAStoreInUse(t *testing.T) {
	ctx := context.Background()
	cfg := embedded.DefaultConfig(t.TempDir())
	cfg.Partitions = 4
	cfg.LockTimeout = 100 * 1e6
	s, err := embedded.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateLink(ctx, store.NewLink{Code: "kept", URL: "https://example.com/", Redirect: 302}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(cfg.Path())
	if _, err := embedded.Compact(cfg); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("Compact of an open store: %v; want an in-use error", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(cfg.Path())
	if len(before) == 0 || len(after) != len(before) {
		t.Fatalf("a refused Compact changed the file: %d -> %d bytes", len(before), len(after))
	}
	// A crashed Compact's leftover copy: garbage, replaced.
	if err := os.WriteFile(cfg.Path()+".compact", []byte("half a copy"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := embedded.Compact(cfg); err != nil {
		t.Fatalf("Compact with a leftover copy: %v", err)
	}
	s = open(t, cfg)
	if l, err := s.GetLink(ctx, "kept"); err != nil || l.URL != "https://example.com/" {
		t.Fatalf("after Compact: %+v, %v", l, err)
	}
}

// TestCompactRefusesOtherFiles: a file that is not a shortstock store is
// left alone.
func TestCompactRefusesOtherFiles(t *testing.T) {
	cfg := embedded.DefaultConfig(t.TempDir())
	if _, err := embedded.Compact(cfg); err == nil {
		t.Fatal("Compact of a missing file succeeded")
	}
	if err := os.WriteFile(cfg.Path(), []byte("not a database at all, not even close to a page"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := embedded.Compact(cfg); err == nil {
		t.Fatal("Compact of a non-bbolt file succeeded")
	}
	b, _ := os.ReadFile(cfg.Path())
	if string(b) != "not a database at all, not even close to a page" {
		t.Fatalf("a refused Compact changed the file: %q", b)
	}
}
