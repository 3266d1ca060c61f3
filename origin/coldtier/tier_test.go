package coldtier

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"gocloud.dev/blob/fileblob"

	"github.com/shortstock/shortstock/origin/store"
)

func TestTierFileBackend(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := fileblob.OpenBucket(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tr, err := Open(ctx, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Put(ctx, sampleLinks(100)); err != nil {
		t.Fatal(err)
	}
	// Reopen: indexes load from the live markers.
	tr2, err := Open(ctx, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tr2.Get(ctx, "c00042")
	if err != nil || l.Version != 43 {
		t.Fatalf("get: %v %+v", err, l)
	}
	if _, err := tr2.Get(ctx, "absent"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("absent: %v", err)
	}
	if st := tr2.Stats(); st.Links != 100 || st.Segments != 1 || st.ColdReads != 1 {
		t.Fatalf("stats %+v", st)
	}
	// Corrupt the record block on disk: detected, counted, never served.
	seg := tr2.segs[0]
	e, _, _ := seg.ix.Find("c00042")
	p := filepath.Join(dir, filepath.FromSlash(seg.meta.Key))
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	raw[e.Offset+uint64(e.Length)-3] ^= 0xff
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if l, err := tr2.Get(ctx, "c00042"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt record served: %v %+v", err, l)
	}
	if tr2.Stats().Corrupt != 1 {
		t.Fatal("corruption not counted")
	}
	// Truncated segment: not loaded at open.
	if err := os.WriteFile(p, raw[:len(raw)-5], 0o644); err != nil {
		t.Fatal(err)
	}
	tr3, err := Open(ctx, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st := tr3.Stats(); st.Segments != 0 || st.Corrupt != 1 {
		t.Fatalf("truncated segment loaded: %+v", st)
	}
}
