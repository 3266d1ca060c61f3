package tiering_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"gocloud.dev/blob"

	keyspace "github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

func segmentKeys(t *testing.T, b *blob.Bucket) []string {
	t.Helper()
	var keys []string
	it := b.List(&blob.ListOptions{Prefix: "segments/"})
	for {
		obj, err := it.Next(context.Background())
		if err == io.EOF {
			return keys
		}
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, obj.Key)
	}
}

func rewrite(t *testing.T, b *blob.Bucket, key string, f func([]byte) []byte) {
	t.Helper()
	ctx := context.Background()
	raw, err := b.ReadAll(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.WriteAll(ctx, key, f(raw), nil); err != nil {
		t.Fatal(err)
	}
}

// TestCorruptSegment: a flipped byte in a record and a truncated segment
// are detected by checksum and size, counted, and never served; a lookup
// that cannot rule out the broken segment answers unavailable, not 404.
func TestCorruptSegment(t *testing.T) {
	matrix(t, func(t *testing.T, h hot, c cold) {
		ctx := context.Background()
		s := h.open(t)
		b, _ := c.open(t)
		tr := newTiering(t, s, b, nil)
		codes := mkLinks(t, s, 10, "x")
		if run := idlePass(t, tr, nil); run.Evicted != 10 {
			t.Fatalf("pass %+v", run)
		}
		keys := segmentKeys(t, b)
		if len(keys) != 1 {
			t.Fatalf("segments %v", keys)
		}
		// Flip a byte inside the first record (after the 8-byte header
		// and the block's 8-byte length and CRC).
		rewrite(t, b, keys[0], func(raw []byte) []byte { raw[8+8+10] ^= 0x20; return raw })
		var first string
		for _, code := range codes {
			if first == "" || code < first {
				first = code
			}
		}
		l, err := tr.Lookup(ctx, first)
		if err == nil || !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("a corrupt record was served: %+v, %v", l, err)
		}
		if hotVersion(t, s, first) != 0 {
			t.Fatal("a corrupt record was promoted")
		}
		// The other records of the segment are intact and served.
		if l, err := tr.Lookup(ctx, codes[5]); err != nil || l.Version != 1 {
			t.Fatalf("intact record: %+v, %v", l, err)
		}
		// Truncated: not loaded when the tier opens again; its links
		// answer unavailable (never a wrong 404, never wrong data).
		rewrite(t, b, keys[0], func(raw []byte) []byte { return raw[:len(raw)-7] })
		tr2 := newTiering(t, s, b, nil)
		// A code that never existed, in a partition links went cold from:
		// the broken segment could hold it. (One in a partition nothing
		// left is a plain 404, without reading anything.)
		space := s.Partitions()
		nowhere := ""
		for i := 0; nowhere == ""; i++ {
			if c := fmt.Sprintf("nowhere%d", i); space.Partition(keyspace.KindLink, c) == space.Partition(keyspace.KindLink, codes[7]) {
				nowhere = c
			}
		}
		for _, code := range []string{codes[7], nowhere} {
			if l, err := tr2.Lookup(ctx, code); !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("%s with a truncated segment: %+v, %v; want unavailable", code, l, err)
			}
		}
		st, err := tr2.Stats(ctx)
		if err != nil || st.Cold.Segments != 0 {
			t.Fatalf("truncated segment loaded: %+v, %v", st, err)
		}
	})
}

// TestColdStoreDown: with the S3 server gone, hot links read as before,
// cold reads answer unavailable quickly, and the mover evicts nothing.
func TestColdStoreDown(t *testing.T) {
	for _, h := range []string{"embedded", "redis"} {
		t.Run(h, func(t *testing.T) {
			ctx := context.Background()
			var hs hot
			for _, x := range hotStores(t) {
				if x.name == h {
					hs = x
				}
			}
			var cs cold
			for _, x := range coldStores(t) {
				if x.name == "s3" {
					cs = x
				}
			}
			s := hs.open(t)
			b, down := cs.open(t)
			tr := newTiering(t, s, b, nil)
			codes := mkLinks(t, s, 8, "d")
			if run := idlePass(t, tr, nil); run.Evicted != 8 {
				t.Fatalf("pass %+v", run)
			}
			hotCodes := mkLinks(t, s, 8, "h")
			tr.Pass(ctx) // stamps the new links
			down()
			for _, code := range hotCodes {
				if l, err := s.GetLink(ctx, code); err != nil || l.Version != 1 {
					t.Fatalf("hot link with the cold store down: %+v, %v", l, err)
				}
			}
			for i, code := range codes {
				start := time.Now()
				_, err := tr.Lookup(ctx, code)
				took := time.Since(start)
				if !errors.Is(err, store.ErrUnavailable) {
					t.Fatalf("cold read with the store down: %v; want unavailable", err)
				}
				limit := 100 * time.Millisecond // backing off: no request
				if i == 0 {
					limit = 3 * time.Second // the first one waits for its timeout at most
				}
				if took > limit {
					t.Fatalf("cold read %d took %v with the store down; want under %v", i, took, limit)
				}
			}
			// The mover pauses: nothing is evicted that is not verified cold.
			time.Sleep(after + 50*time.Millisecond)
			run := tr.Pass(ctx)
			if run.Evicted != 0 || run.Error == "" || !strings.Contains(run.Error, "unavailable") {
				t.Fatalf("pass with the store down: %+v", run)
			}
			for _, code := range hotCodes {
				if l, err := s.GetLink(ctx, code); err != nil || l.Version != 1 {
					t.Fatalf("hot link after a failed pass: %+v, %v", l, err)
				}
			}
		})
	}
}
