package coldtier

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/testutil"
	"github.com/shortstock/shortstock/origin/store"
)

func TestMain(m *testing.M) { testutil.VerifyNoLeaks(m, nil) }

func sampleLinks(n int) []store.Link {
	ls := make([]store.Link, n)
	for i := range ls {
		ls[n-1-i] = store.Link{
			Code: fmt.Sprintf("c%05d", i), URL: fmt.Sprintf("https://example.com/%d", i),
			Redirect: 302, CreatedAt: time.Unix(1700000000+int64(i), 0).UTC(), Version: uint64(i + 1), Clicks: int64(i),
		}
	}
	return ls
}

func TestSegmentRoundTrip(t *testing.T) {
	in := sampleLinks(500)
	seg, ix, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	ix2, out, err := Decode(seg)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) || len(ix2.Entries) != len(ix.Entries) {
		t.Fatalf("got %d links, %d entries", len(out), len(ix2.Entries))
	}
	for i, l := range out {
		if l.Code != fmt.Sprintf("c%05d", i) || l.Version != uint64(i+1) {
			t.Fatalf("link %d = %+v", i, l)
		}
		e, hit, ok := ix2.Find(l.Code)
		if !ok || !hit {
			t.Fatalf("index misses %s", l.Code)
		}
		got, err := DecodeRecord(seg[e.Offset:e.Offset+uint64(e.Length)], e)
		if err != nil || got.URL != l.URL {
			t.Fatalf("ranged read %s: %v %+v", l.Code, err, got)
		}
	}
	if _, _, ok := ix2.Find("nope"); ok {
		t.Fatal("found a code not in the segment")
	}
}

// Every single-byte corruption and every truncation of a segment is either
// detected or leaves the decoded links exactly as written: a corrupt segment
// is never served.
func TestSegmentCorruptionDetected(t *testing.T) {
	in := sampleLinks(20)
	seg, _, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	_, want, _ := Decode(seg)
	for i := range seg {
		bad := append([]byte(nil), seg...)
		bad[i] ^= 0x5a
		_, got, err := Decode(bad)
		if err == nil {
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("flip at %d served altered links", i)
			}
			continue
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("flip at %d: %v is not ErrCorrupt", i, err)
		}
	}
	for n := 0; n < len(seg); n++ {
		if _, _, err := Decode(seg[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncation to %d not detected: %v", n, err)
		}
	}
}

func FuzzDecodeSegment(f *testing.F) {
	for _, n := range []int{0, 1, 3} {
		seg, _, err := Encode(sampleLinks(n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(seg)
	}
	f.Add([]byte(headerMagic + trailerMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		ix, links, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			return
		}
		if len(links) != len(ix.Entries) {
			t.Fatal("links and entries differ")
		}
		for i, l := range links {
			if l.Code != ix.Entries[i].Code {
				t.Fatal("link under the wrong code")
			}
		}
	})
}

// TestWriteSeedCorpus regenerates testdata/fuzz seeds when SHORTSTOCK_WRITE_SEEDS is set.
func TestWriteSeedCorpus(t *testing.T) {
	if os.Getenv("SHORTSTOCK_WRITE_SEEDS") == "" {
		t.Skip("set SHORTSTOCK_WRITE_SEEDS=1 to rewrite the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeSegment")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{2, 7} {
		seg, _, _ := Encode(sampleLinks(n))
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", seg)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%d", n)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
