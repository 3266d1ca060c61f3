package tiering_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"gocloud.dev/blob/fileblob"

	"github.com/shortstock/shortstock/origin/coldtier"
	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/origin/store"
	"github.com/shortstock/shortstock/origin/tiering"
)

// The measurement of docs/tiers.md ("Measured"): off unless -cold.links
// is set, e.g.
//
//	go test -run TestMeasureColdTier -cold.links 1000000 -timeout 60m -v ./origin/tiering/
var (
	measureLinks   = flag.Int("cold.links", 0, "links for TestMeasureColdTier (0: skip)")
	measureBackend = flag.String("cold.backend", "embedded,redis", "hot stores TestMeasureColdTier measures")
)

func TestMeasureColdTier(t *testing.T) {
	if *measureLinks == 0 {
		t.Skip("set -cold.links N to measure (docs/tiers.md)")
	}
	for _, h := range hotStores(t) {
		if !slices.Contains(strings.Split(*measureBackend, ","), h.name) {
			continue
		}
		t.Run(h.name, func(t *testing.T) { measure(t, h, *measureLinks) })
	}
}

func measure(t *testing.T, h hot, n int) {
	ctx := context.Background()
	s := h.open(t)
	cl := s.(store.ColdLinks)
	base, err := cl.HotStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	codes := make([]string, n)
	for i := range codes {
		codes[i] = fmt.Sprintf("m%07d", i)
	}
	start := time.Now()
	created := time.Now().UTC()
	if bc, ok := s.(store.BatchCreator); ok {
		for i := 0; i < n; i += 10000 {
			batch := make([]store.NewLink, 0, 10000)
			for _, c := range codes[i:min(i+10000, n)] {
				batch = append(batch, store.NewLink{Code: c, URL: "https://example.com/some/path/" + c, Redirect: 302, CreatedAt: created})
			}
			if _, err := bc.CreateLinks(ctx, batch); err != nil {
				t.Fatal(err)
			}
		}
	} else {
		parallel(t, codes, 16, func(c string) error {
			_, err := s.CreateLink(ctx, store.NewLink{Code: c, URL: "https://example.com/some/path/" + c, Redirect: 302, CreatedAt: created})
			return err
		})
	}
	t.Logf("%s: created %d links in %v", h.name, n, time.Since(start).Round(time.Millisecond))
	before, _ := cl.HotStats(ctx)

	dir := t.TempDir()
	b, err := fileblob.OpenBucket(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tr, err := tiering.New(tiering.Config{Store: s, Bucket: b, After: time.Second, NoMover: true, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	start = time.Now()
	tr.Pass(ctx) // stamps every link
	t.Logf("%s: stamping pass %v", h.name, time.Since(start).Round(time.Millisecond))
	stamped, _ := cl.HotStats(ctx)

	rng := rand.New(rand.NewPCG(7, 7))
	hotSample := sample(rng, codes, 5000)
	hotBefore := latencies(t, 5000, func(i int) error { _, err := s.GetLink(ctx, hotSample[i]); return err })

	time.Sleep(1200 * time.Millisecond)
	// 10 % are clicked now: they stay hot; 90 % are idle.
	keep := map[string]bool{}
	clicks := map[string]int64{}
	for i, c := range codes {
		if i%10 == 0 {
			keep[c] = true
			clicks[c] = 1
			if len(clicks) == 5000 {
				if err := s.AddClicks(ctx, clicks); err != nil {
					t.Fatal(err)
				}
				clicks = map[string]int64{}
			}
		}
	}
	if err := s.AddClicks(ctx, clicks); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	run := tr.Pass(ctx)
	moveTook := time.Since(start)
	if run.Error != "" || run.Evicted != int64(n-len(keep)) {
		t.Fatalf("pass %+v; want %d evicted", run, n-len(keep))
	}
	t.Logf("%s: mover pass evicted %d in %v", h.name, run.Evicted, moveTook.Round(time.Millisecond))
	after, _ := cl.HotStats(ctx)
	ts, _ := tr.Stats(ctx)

	var hotCodes, coldCodes []string
	for _, c := range codes {
		if keep[c] {
			hotCodes = append(hotCodes, c)
		} else {
			coldCodes = append(coldCodes, c)
		}
	}
	hotSample = sample(rng, hotCodes, 5000)
	hotAfter := latencies(t, 5000, func(i int) error { _, err := s.GetLink(ctx, hotSample[i]); return err })
	// A cold read alone: filters, then one ranged read of the file.
	ct, err := coldtier.Open(ctx, b, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	coldSample := sample(rng, coldCodes, 5000)
	coldRead := latencies(t, 5000, func(i int) error { _, err := ct.Get(ctx, coldSample[i]); return err })
	absent := latencies(t, 5000, func(i int) error {
		_, err := ct.Get(ctx, fmt.Sprintf("absent%d", i))
		if err == store.ErrNotFound {
			return nil
		}
		return err
	})
	// What a client sees: hot miss, cold read, promotion (a hot write).
	coldSample2 := sample(rng, coldCodes, 2000)
	lookup := latencies(t, 2000, func(i int) error {
		c := coldSample2[i]
		if _, err := s.GetLink(ctx, c); err == nil {
			return fmt.Errorf("%s is hot", c)
		}
		_, err := tr.Lookup(ctx, c)
		return err
	})
	st := ct.Stats()

	t.Logf("%s: %d links, %d cold (%d segments, %.1f MB), %d hot", h.name, n, ts.Cold.Links, ts.Cold.Segments, float64(ts.Cold.Bytes)/1e6, ts.Hot.Links)
	mb := func(x int64) string { return fmt.Sprintf("%.1f MB", float64(x)/1e6) }
	if h.name == "redis" {
		b0, b1, b2 := before.Bytes-base.Bytes, stamped.Bytes-base.Bytes, after.Bytes-base.Bytes
		t.Logf("redis used_memory of the links: created %s, stamped %s, after the move %s: -%.1f %% (vs stamped), -%.1f %% (vs created)",
			mb(b0), mb(b1), mb(b2), 100*(1-float64(b2)/float64(b1)), 100*(1-float64(b2)/float64(b0)))
	} else {
		t.Logf("bbolt bytes in use: created %s, stamped %s, after the move %s: -%.1f %% (vs stamped)",
			mb(before.Bytes), mb(stamped.Bytes), mb(after.Bytes), 100*(1-float64(after.Bytes)/float64(stamped.Bytes)))
	}
	t.Logf("hot GetLink p50/p99: before %v/%v, after %v/%v", hotBefore.p(50), hotBefore.p(99), hotAfter.p(50), hotAfter.p(99))
	t.Logf("cold read (file backend) p50/p99 %v/%v; absent code p50/p99 %v/%v (false positives %d of 5000)", coldRead.p(50), coldRead.p(99), absent.p(50), absent.p(99), st.FalsePositives)
	t.Logf("hot miss + cold read + promotion p50/p99 %v/%v", lookup.p(50), lookup.p(99))
	if es, ok := s.(*embedded.Store); ok {
		compacted(t, es, embedded.DefaultConfig(h.dir).Path())
	}
}

// compacted closes the store and reports its file's size before and after
// copying it to a fresh file (bbolt files never shrink; freed pages are
// reused by later writes).
func compacted(t *testing.T, es *embedded.Store, path string) {
	es.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	src, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dstPath := path + ".compact"
	dst, err := bolt.Open(dstPath, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := bolt.Compact(dst, src, 64<<20); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	fc, _ := os.Stat(dstPath)
	t.Logf("bbolt file: %.1f MB; compacted copy %.1f MB", float64(fi.Size())/1e6, float64(fc.Size())/1e6)
}

type lat []time.Duration

func (l lat) p(q int) time.Duration {
	s := slices.Clone(l)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*q/100)].Round(time.Microsecond)
}

func latencies(t *testing.T, n int, f func(i int) error) lat {
	out := make(lat, n)
	for i := range out {
		start := time.Now()
		if err := f(i); err != nil {
			t.Fatal(err)
		}
		out[i] = time.Since(start)
	}
	return out
}

// sample picks n distinct codes.
func sample(rng *rand.Rand, codes []string, n int) []string {
	out := make([]string, n)
	for i, j := range rng.Perm(len(codes))[:n] {
		out[i] = codes[j]
	}
	return out
}

func parallel(t *testing.T, codes []string, workers int, f func(string) error) {
	var wg sync.WaitGroup
	ch := make(chan string, 1024)
	var mu sync.Mutex
	var first error
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range ch {
				if err := f(c); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, c := range codes {
		ch <- c
	}
	close(ch)
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}
