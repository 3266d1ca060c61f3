package cache

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
)

// oneBucket is a cache whose keys all share one ristretto item.
func oneBucket(t *testing.T) *Cache {
	t.Helper()
	c, _ := newTestCache(t, newFakeOrigin())
	c.items.shift = 64 // before any key is cached
	return c
}

func TestKeysOfOneBucketAreIndependent(t *testing.T) {
	c := oneBucket(t)
	ids := []string{"a1", "b2", "c3", "d4", "e5", "f6"}
	for i, id := range ids {
		e := render(keys.KindLink, id, uint64(10+i), time.Hour)
		e.seal(c.cfg.Clock.Now(), time.Hour, 0, 0)
		c.items.set(hashKey(keys.KindLink, id), e)
		c.Wait()
	}
	for i, id := range ids {
		if e := c.Peek(keys.KindLink, id); e == nil || e.Version() != uint64(10+i) {
			t.Fatalf("%s: %v after filling its bucket's other keys", id, e)
		}
	}
	// Dropping one key leaves its neighbours.
	c.Purge(keys.KindLink, "c3")
	for _, id := range ids {
		if got := c.Peek(keys.KindLink, id); (got == nil) != (id == "c3") {
			t.Fatalf("%s cached=%v after purging c3 alone", id, got != nil)
		}
	}
	// A key never goes back to an older version; a newer one replaces it.
	h := hashKey(keys.KindLink, "d4")
	old := render(keys.KindLink, "d4", 5, time.Hour)
	old.seal(c.cfg.Clock.Now(), time.Hour, 0, 0)
	if c.items.set(h, old) {
		t.Fatal("an older d4 replaced v13")
	}
	newer := render(keys.KindLink, "d4", 99, time.Hour)
	newer.seal(c.cfg.Clock.Now(), time.Hour, 0, 0)
	if !c.items.set(h, newer) {
		t.Fatal("a newer d4 was refused")
	}
	if e := c.Peek(keys.KindLink, "d4"); e == nil || e.Version() != 99 {
		t.Fatalf("d4 is %v, want v99", e)
	}
	if e := c.Peek(keys.KindLink, "e5"); e == nil || e.Version() != 14 {
		t.Fatalf("e5 is %v after d4 was replaced", e)
	}
}

// TestBudgetHoldsWhenBucketsGrow fills ten times the keys a budget holds
// into 16 buckets, so after the first few dozen fills every fill adds a key
// to a bucket ristretto already holds: ristretto never evicts for an
// update, so without the re-add of a growing bucket the cost would pass
// the budget and stay there.
func TestBudgetHoldsWhenBucketsGrow(t *testing.T) {
	const budget = 1 << 20
	o := newFakeOrigin()
	c, _ := newTestCache(t, o, func(c *Config) { c.MaxCostBytes = budget })
	c.items.shift = 60 // before any key is cached
	fits := budget / typicalEntryCost(c.cfg.KeysPerItem)
	for i := range 10 * fits {
		mustGet(t, c, keys.KindLink, "k"+itoa(int(i)))
	}
	c.Wait()
	if cost := c.Cost(); cost > budget {
		t.Fatalf("cached entries cost %d bytes after %d fills, budget %d", cost, 10*fits, budget)
	}
	n := c.Len()
	if n < int(fits)/8 {
		t.Fatalf("%d entries cached, a budget for ~%d", n, fits)
	}
	// What Cost reports is what the buckets hold.
	var sum int64
	c.items.rc.IterValues(func(b bucket) bool { sum += bucketCost(b); return false })
	if sum > budget {
		t.Fatalf("the buckets held cost %d, budget %d", sum, budget)
	}
}

func TestBucketBits(t *testing.T) {
	for _, tc := range []struct {
		budget int64
		k      int
		want   uint
	}{
		{1 << 10, 8, 0},
		{16 << 10, 8, 4}, // 107 typical entries, 13 buckets of 8: nearest 2^4
		{1 << 30, 1, 64},
		// 1.25 M typical links at 8 a bucket: 156 K, nearest 2^17.
		{1_000_000 * typicalEntryCost(8) * 5 / 4, 8, 17},
		{1_000_000 * typicalEntryCost(8), 8, 17},
		{2_000_000 * typicalEntryCost(8), 8, 18},
	} {
		if got := bucketBits(tc.budget, tc.k); got != tc.want {
			t.Errorf("bucketBits(%d, %d) = %d, want %d", tc.budget, tc.k, got, tc.want)
		}
	}
}

func TestLoadDeadlineWithinLoadTimeout(t *testing.T) {
	const timeout = 800 * time.Millisecond
	var got []time.Duration
	var ctxs []context.Context
	o := LoaderFunc(func(ctx context.Context, kind keys.Kind, id string, _ uint64) (*Entry, error) {
		d, ok := ctx.Deadline()
		if !ok {
			t.Error("a Load without a deadline")
		}
		got = append(got, time.Until(d))
		ctxs = append(ctxs, ctx)
		return render(kind, id, 1, time.Hour), nil
	})
	c, _ := newTestCache(t, o, func(c *Config) { c.LoadTimeout = timeout; c.FloorLifetime = 4 * timeout })
	for i := range 40 {
		mustGet(t, c, keys.KindLink, "d"+itoa(i))
	}
	for i, left := range got {
		if left > timeout || left < timeout-timeout/deadlineSlices-50*time.Millisecond {
			t.Fatalf("Load %d had %v left, want (1-1/%d) x %v to %v", i, left, deadlineSlices, timeout, timeout)
		}
	}
	if ctxs[0] != ctxs[len(ctxs)-1] && len(got) == 40 {
		// Fills within one slice share a context; 40 fast fills span at most a few.
		shared := 0
		for i := 1; i < len(ctxs); i++ {
			if ctxs[i] == ctxs[i-1] {
				shared++
			}
		}
		if shared == 0 {
			t.Fatal("every fill got a context of its own")
		}
	}
	c.Close()
	if ctxs[len(ctxs)-1].Err() == nil {
		t.Fatal("the load context outlived Close")
	}
}

// BenchmarkHitRatioZipf is the eviction price of sharing items: Zipf
// reads over ten times the keys the budget holds, at 1 key per ristretto
// item (ristretto's own per-key policy) and at the default 8.
//
//	go test -run '^$' -bench HitRatioZipf -benchtime 1x ./edge/cache/
func BenchmarkHitRatioZipf(b *testing.B) {
	for _, k := range []int{1, 8, 16} {
		for _, s := range []float64{1.01, 1.2} {
			b.Run("keys-per-item="+itoa(k)+"/s="+map[float64]string{1.01: "1.01", 1.2: "1.2"}[s], func(b *testing.B) {
				o := newFakeOrigin()
				const keySpace = 200_000
				c, _ := newTestCache(b, o, func(c *Config) {
					c.KeysPerItem = k
					c.MaxCostBytes = keySpace / 10 * typicalEntryCost(k)
				})
				r := rand.New(rand.NewPCG(1, 2))
				z := rand.NewZipf(r, s, 1, keySpace-1)
				id := make([]byte, 0, 16)
				var hits, reads int
				for range b.N {
					for i := range 400_000 {
						id = append(id[:0], 'z')
						id = appendInt(id, int(z.Uint64()))
						_, st, err := c.Get(keys.KindLink, id)
						if err != nil {
							b.Fatal(err)
						}
						if i >= 200_000 { // warmed
							reads++
							if st == Hit {
								hits++
							}
						}
					}
				}
				b.ReportMetric(100*float64(hits)/float64(reads), "hit-%")
			})
		}
	}
}

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

// TestBucketChangesUnderReaders has readers look up the keys of one
// bucket while a writer replaces, drops and adds keys of it. Readers take
// no lock, so a writer must never write a slot a reader may see: under
// -race an in-place write shows as a data race. Each read must be the
// key's own entry, at a version it was given.
func TestBucketChangesUnderReaders(t *testing.T) {
	o := newFakeOrigin()
	c := oneBucket(t)
	c.cfg.Loader = o
	ids := []string{"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"}
	for _, id := range ids {
		o.set(keys.KindLink, id, 1)
		mustGet(t, c, keys.KindLink, id)
	}
	stop := make(chan struct{})
	done := make(chan error, 2)
	for r := range 2 {
		go func() {
			for i := r; ; i++ {
				select {
				case <-stop:
					done <- nil
					return
				default:
				}
				id := ids[i%len(ids)]
				if e := c.Peek(keys.KindLink, id); e != nil && (e.ID() != id || e.Version() == 0) {
					done <- fmt.Errorf("read %s: got %s v%d", id, e.ID(), e.Version())
					return
				}
			}
		}()
	}
	for v := uint64(2); v < 300; v++ {
		id := ids[int(v)%len(ids)]
		switch v % 3 {
		case 0: // replace in place
			if _, err := c.Update(keys.KindLink, id, v, func() (*Entry, error) { return render(keys.KindLink, id, v, time.Hour), nil }); err != nil {
				t.Fatal(err)
			}
		case 1: // drop and fill again
			c.Purge(keys.KindLink, id)
			o.set(keys.KindLink, id, v)
			mustGet(t, c, keys.KindLink, id)
		default: // add a key to the bucket, then drop it
			extra := "x" + itoa(int(v))
			o.set(keys.KindLink, extra, 1)
			mustGet(t, c, keys.KindLink, extra)
			c.Purge(keys.KindLink, extra)
		}
	}
	close(stop)
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// TestConcurrentFillsOfOneBucketAllStay fills keys of one bucket from many
// goroutines at once, the bucket new to ristretto: a change that finds no
// bucket while a new one waits in ristretto's buffer would start a second
// one, which ristretto refuses, and that key would be lost.
func TestConcurrentFillsOfOneBucketAllStay(t *testing.T) {
	o := newFakeOrigin()
	for round := range 20 {
		c := oneBucket(t)
		c.cfg.Loader = o
		const n = 16
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, _, err := c.Get(keys.KindLink, []byte("f"+itoa(i))); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		for i := range n {
			if c.Peek(keys.KindLink, "f"+itoa(i)) == nil {
				t.Fatalf("round %d: f%d was filled and is not cached", round, i)
			}
		}
	}
}
