package tiering_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
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

// measureAfter is the idle time of the measurement: clicking the 10 %
// that stay hot must take less.
const measureAfter = 10 * time.Second

// measureLogRetention stands for the change log's retention (24 h by
// default on both stores), which is far shorter than any sensible
// --cold-after: by the time links go cold, the log no longer holds their
// creates. The measurement compresses both: the log keeps changes this
// long, and it is trimmed (trimLog) before each figure is taken, so
// "before" and "after" both have the log a store at rest has.
const measureLogRetention = time.Second

// trimLog applies the change log retention now: the embedded store's
// maintenance pass, or the Redis store's TrimChanges, until nothing is
// left to trim.
func trimLog(t *testing.T, s store.Store) {
	ctx := context.Background()
	time.Sleep(measureLogRetention + 100*time.Millisecond)
	for {
		var n int
		switch x := s.(type) {
		case *embedded.Store:
			m, err := x.Maintain(ctx)
			if err != nil {
				t.Fatal(err)
			}
			n = int(m.ChangesTrimmed)
		case store.ChangeTrimmer:
			var err error
			if n, err = x.TrimChanges(ctx, time.Now(), store.MaxTrimBatch); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("%T: no change log trim", s)
		}
		if n == 0 {
			return
		}
	}
}

func TestMeasureColdTier(t *testing.T) {
	if *measureLinks == 0 {
		t.Skip("set -cold.links N to measure (docs/tiers.md)")
	}
	logRetention = measureLogRetention
	defer func() { logRetention = 0 }()
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
	tr, err := tiering.New(tiering.Config{Store: s, Bucket: b, After: measureAfter, NoMover: true, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	start = time.Now()
	tr.Pass(ctx) // stamps every link
	t.Logf("%s: stamping pass %v", h.name, time.Since(start).Round(time.Millisecond))
	trimLog(t, s)
	stamped, _ := cl.HotStats(ctx)
	var mBefore footprint
	if h.name == "embedded" {
		// Close, measure the file (compacted), reopen: the stamps stay.
		tr.Close()
		s.Close()
		mBefore = boltFootprint(t, embedded.DefaultConfig(h.dir).Path())
		s = h.open(t)
		cl = s.(store.ColdLinks)
		tr, err = tiering.New(tiering.Config{Store: s, Bucket: b, After: measureAfter, NoMover: true, Log: quietLog()})
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
	} else {
		mBefore = redisFootprint(t, h.prefix, stamped.Bytes-base.Bytes, s.Partitions().N())
	}

	rng := rand.New(rand.NewPCG(7, 7))
	hotSample := sample(rng, codes, 20000)
	hotBefore := latencies(t, len(hotSample), func(i int) error { _, err := s.GetLink(ctx, hotSample[i]); return err })

	time.Sleep(measureAfter + 200*time.Millisecond)
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
	trimLog(t, s)
	after, _ := cl.HotStats(ctx)
	ts, _ := tr.Stats(ctx)
	var mAfter footprint
	if h.name == "redis" {
		mAfter = redisFootprint(t, h.prefix, after.Bytes-base.Bytes, s.Partitions().N())
	} else {
		tr.Close()
		s.Close()
		mAfter = boltFootprint(t, embedded.DefaultConfig(h.dir).Path())
		s = h.open(t)
		tr, err = tiering.New(tiering.Config{Store: s, Bucket: b, After: time.Hour, NoMover: true, Log: quietLog()})
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
	}

	var hotCodes, coldCodes []string
	for _, c := range codes {
		if keep[c] {
			hotCodes = append(hotCodes, c)
		} else {
			coldCodes = append(coldCodes, c)
		}
	}
	hotSample = sample(rng, hotCodes, 20000)
	hotAfter := latencies(t, len(hotSample), func(i int) error { _, err := s.GetLink(ctx, hotSample[i]); return err })
	// Redis shrinks its keyspace dict after the deletes incrementally
	// (serverCron): measure again once it settled.
	time.Sleep(15 * time.Second)
	hotSettled := latencies(t, len(hotSample), func(i int) error { _, err := s.GetLink(ctx, hotSample[i]); return err })
	// A cold read alone: filters, then one ranged read of the file.
	ct, err := coldtier.Open(ctx, b, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	coldSample := sample(rng, coldCodes, 5000)
	coldRead := latencies(t, len(coldSample), func(i int) error { _, err := ct.Get(ctx, coldSample[i]); return err })
	absent := latencies(t, 5000, func(i int) error {
		_, err := ct.Get(ctx, fmt.Sprintf("absent%d", i))
		if err == store.ErrNotFound {
			return nil
		}
		return err
	})
	// What a client sees: hot miss, cold read, promotion (a hot write).
	coldSample2 := sample(rng, coldCodes, 2000)
	lookup := latencies(t, len(coldSample2), func(i int) error {
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
		b0 := before.Bytes - base.Bytes
		t.Logf("redis used_memory: created %s, stamped %s, after the move %s (-%.1f %%)", mb(b0), mb(mBefore.total), mb(mAfter.total), 100*(1-float64(mAfter.total)/float64(mBefore.total)))
	}
	t.Logf("hot GetLink p50/p99: before %v/%v, right after %v/%v, 15 s later %v/%v", hotBefore.p(50), hotBefore.p(99), hotAfter.p(50), hotAfter.p(99), hotSettled.p(50), hotSettled.p(99))
	t.Logf("cold read (file backend) p50/p99 %v/%v; absent code p50/p99 %v/%v (false positives %d of 5000)", coldRead.p(50), coldRead.p(99), absent.p(50), absent.p(99), st.FalsePositives)
	t.Logf("hot miss + cold read + promotion p50/p99 %v/%v", lookup.p(50), lookup.p(99))
	if h.name == "embedded" {
		t.Logf("bbolt bytes in use (HotStats): created %s, stamped %s, after the move %s", mb(before.Bytes), mb(stamped.Bytes), mb(after.Bytes))
		t.Logf("bbolt file before compaction %s -> %s (bbolt files do not shrink by themselves: freed pages are reused by later writes)", mb(mBefore.raw), mb(mAfter.raw))
		t.Logf("bbolt file after `shortstock compact`: %s -> %s (-%.1f %%)", mb(mBefore.file), mb(mAfter.file), 100*(1-float64(mAfter.file)/float64(mBefore.file)))
		t.Logf("bbolt pages in use: %s -> %s (-%.1f %%)", mb(mBefore.total), mb(mAfter.total), 100*(1-float64(mAfter.total)/float64(mBefore.total)))
	}
	t.Logf("%s: of which change log (capped by its own retention, not per link): %s -> %s", h.name, mb(mBefore.log), mb(mAfter.log))
	t.Logf("%s: without the change log: %s -> %s (-%.1f %%)", h.name, mb(mBefore.total-mBefore.log), mb(mAfter.total-mAfter.log),
		100*(1-float64(mAfter.total-mAfter.log)/float64(mBefore.total-mBefore.log)))
}

type footprint struct{ raw, file, total, log int64 }

// boltFootprint compacts the (closed) store's file in place with
// embedded.Compact (what `shortstock compact` runs) and reports its size
// before and after, the pages in use and the bytes of the partitions'
// change logs.
func boltFootprint(t *testing.T, path string) footprint {
	res, err := embedded.Compact(embedded.DefaultConfig(filepath.Dir(path)))
	if err != nil {
		t.Fatal(err)
	}
	fp := footprint{raw: res.Before, file: res.After}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	bySub := map[string]int{}
	_ = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if lb := b.Bucket([]byte("log")); lb != nil {
				st := lb.Stats()
				fp.log += int64(st.BranchAlloc + st.LeafAlloc)
			}
			return b.ForEachBucket(func(k []byte) error {
				st := b.Bucket(k).Stats()
				bySub[string(k)] += st.BranchAlloc + st.LeafAlloc
				return nil
			})
		})
	})
	var sum int
	for _, n := range bySub {
		sum += n
	}
	t.Logf("bbolt sub-buckets (bytes allocated, all partitions): %v; all %.1f MB, links+act %.1f MB", bySub, float64(sum)/1e6, float64(bySub["links"]+bySub["act"])/1e6)
	// The pages in use (tx.Size: the high-water mark of the compacted file).
	_ = db.View(func(tx *bolt.Tx) error { fp.total = tx.Size(); return nil })
	return fp
}

// redisFootprint is used_memory (less the empty server's) and the memory
// of the partitions' change log streams (MEMORY USAGE).
func redisFootprint(t *testing.T, prefix string, used int64, parts int) footprint {
	c := redis.NewClient(&redis.Options{Addr: env.Standalone(t)})
	defer c.Close()
	fp := footprint{total: used}
	for p := 0; p < parts; p++ {
		n, err := c.MemoryUsage(context.Background(), fmt.Sprintf("%s:{p%d}:log", prefix, p), 0).Result()
		if err == nil {
			fp.log += n
		}
	}
	return fp
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
	n = min(n, len(codes))
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
