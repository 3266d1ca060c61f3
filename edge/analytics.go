package edge

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"
	"github.com/valyala/fasthttp"

	"github.com/shortstock/shortstock/internal/clock"
)

// Click analytics (docs/analytics.md). The hit path copies what a click
// needs (code, time, User-Agent, Referer, peer IP) into a slot of a
// bounded lock-free ring and returns; a background worker classifies the
// slots (referrer host, device class, browser family, country) into
// per-link, per-hour aggregates that the click flusher ships with the
// click counts every second. The ring never blocks the hit path: when it
// is full, or when the worker has fallen behind and sampling is on, the
// click is skipped for classification (its count is exact regardless: it
// comes from the cache entry's counter), and the flusher scales the
// classified clicks of each link up to its exact count. The worker also
// samples when clicks arrive faster than Config.AnalyticsRate: parsing a
// User-Agent costs about a microsecond, and classifying every click of a
// busy edge would take CPU from the hits it serves.

// Slot field sizes. A longer User-Agent is classified from its prefix; a
// longer Referer keeps its prefix, which holds the host.
const (
	anMaxCode = 64
	anMaxUA   = 256
	anMaxRef  = 256
)

// maxSampleEvery bounds the sampling: at worst 1 click in 1024 is
// classified.
const maxSampleEvery = 1024

// anSlot is one ring slot. seq is the Vyukov ring's sequence number: a
// producer owns slot i when seq == i, the consumer when seq == i+1.
type anSlot struct {
	seq     atomic.Uint64
	at      int64 // unix seconds
	codeLen uint8
	ipLen   uint8
	uaLen   uint16
	refLen  uint16
	uaCut   bool
	refCut  bool
	code    [anMaxCode]byte
	ip      [16]byte
	ua      [anMaxUA]byte
	ref     [anMaxRef]byte
}

// anRing is a bounded multi-producer ring (D. Vyukov's bounded queue)
// with one consumer at a time (the worker or the flusher, under
// analytics.consume).
type anRing struct {
	slots []anSlot
	mask  uint64
	_     [56]byte // keep tail off the slots header's cache line
	tail  atomic.Uint64
	_     [56]byte
	head  uint64 // consumer only
}

func newRing(size int) *anRing {
	n := 1
	for n < size {
		n <<= 1
	}
	r := &anRing{slots: make([]anSlot, n), mask: uint64(n - 1)}
	for i := range r.slots {
		r.slots[i].seq.Store(uint64(i))
	}
	return r
}

// claim returns a slot to fill and the position to publish, or nil when
// the ring is full. It never waits.
func (r *anRing) claim() (*anSlot, uint64) {
	pos := r.tail.Load()
	for {
		sl := &r.slots[pos&r.mask]
		seq := sl.seq.Load()
		switch d := int64(seq - pos); {
		case d == 0:
			if r.tail.CompareAndSwap(pos, pos+1) {
				return sl, pos
			}
			pos = r.tail.Load()
		case d < 0:
			return nil, 0 // full: the consumer has not freed this slot yet
		default:
			pos = r.tail.Load() // another producer took it
		}
	}
}

// next returns the oldest published slot, or nil. The caller must call
// release(sl) when done with it.
func (r *anRing) next() *anSlot {
	sl := &r.slots[r.head&r.mask]
	if sl.seq.Load() != r.head+1 {
		return nil
	}
	return sl
}

func (r *anRing) release(sl *anSlot) {
	sl.seq.Store(r.head + r.mask + 1)
	r.head++
}

// backlog is how many slots are waiting (approximate, consumer side).
func (r *anRing) backlog() uint64 { return r.tail.Load() - r.head }

// analytics is an edge's click classifier.
type analytics struct {
	ring *anRing
	// The fields every hit reads sit on a cache line of their own: the
	// consumer's fields below change at every drain, and sharing a line
	// with them would cost each hit a cache miss after each drain.
	_ [64]byte
	// sampleEvery: 1 classifies every click; n classifies one in n. Set
	// by the worker from its backlog; always a power of two (it doubles
	// and halves from 1), so the draw is a mask.
	sampleEvery atomic.Uint64
	// seed salts the sampling draw; the worker changes it at every drain.
	seed atomic.Uint64
	// full: the ring was found full since the last take (clicks were lost
	// to classification, not to counting).
	full atomic.Bool
	// asleep: the worker found nothing to do and waits on wake (see run);
	// a hit reads it, and writes it only to wake the worker.
	asleep atomic.Bool
	_      [64]byte
	wake   chan struct{} // capacity 1
	// budget is how many clicks per second the worker classifies before
	// it samples (Config.AnalyticsRate).
	budget    float64
	lastDrain time.Time // consumer only
	lastRaise time.Time // consumer only: the last change of sampleEvery
	clock     clock.Clock

	cls *classifier

	consume sync.Mutex // one consumer at a time; guards agg and classified
	agg     map[string]*codeAgg
	// classified counts clicks classified since the last take.
	classified uint64
	// wasSampling: sampling was on at the last take (it covers the period
	// up to this one too).
	wasSampling bool
}

func newAnalytics(queue, rate int, cls *classifier, clk clock.Clock) *analytics {
	a := &analytics{ring: newRing(queue), cls: cls, agg: map[string]*codeAgg{}, budget: float64(rate), clock: clk, lastDrain: clk.Now(),
		wake: make(chan struct{}, 1)}
	a.sampleEvery.Store(1)
	a.seed.Store(rand.Uint64())
	return a
}

// offer records a click for classification. It allocates nothing, never
// waits and writes no shared memory unless it takes the click. When
// sampling, the draw hashes what this hit already holds (the request's
// ID, unique per connection and request, and its time) with the worker's
// seed: a multiply instead of a random number generator call, which
// cost half of what analytics added to a hit (BenchmarkAnalyticsOffer).
func (a *analytics) offer(ctx *fasthttp.RequestCtx, code []byte, now time.Time) {
	if n := a.sampleEvery.Load(); n > 1 && !sampleDraw(ctx.ID()^uint64(now.UnixNano()), a.seed.Load(), n) {
		return
	}
	sl, pos := a.ring.claim()
	if sl == nil {
		if !a.full.Load() {
			a.full.Store(true)
		}
		return
	}
	sl.at = now.Unix()
	sl.codeLen = uint8(copy(sl.code[:], code))
	ua := ctx.Request.Header.UserAgent()
	sl.uaLen, sl.uaCut = uint16(copy(sl.ua[:], ua)), len(ua) > anMaxUA
	ref := ctx.Request.Header.Referer()
	sl.refLen, sl.refCut = uint16(copy(sl.ref[:], ref)), len(ref) > anMaxRef
	sl.ipLen = 0
	if addr, ok := ctx.RemoteAddr().(*net.TCPAddr); ok {
		ip := addr.IP
		if v4 := ip.To4(); v4 != nil {
			ip = v4
		}
		sl.ipLen = uint8(copy(sl.ip[:], ip))
	}
	sl.seq.Store(pos + 1) // publish
	if a.asleep.Load() && a.asleep.CompareAndSwap(true, false) {
		select {
		case a.wake <- struct{}{}:
		default:
		}
	}
}

// sampleDraw reports whether the click keyed x is in the one-in-n
// sample (n a power of two, at most 2^24): the high bits of a Fibonacci
// hash, which depend on every bit of x and seed, so consecutive request
// IDs or nearby times fall in or out independently.
func sampleDraw(x, seed, n uint64) bool {
	return ((x^seed)*0x9E3779B97F4A7C15)>>40&(n-1) == 0
}

// drain classifies every waiting slot into agg and adapts the sampling:
// it doubles sampleEvery when the ring was half full or the clicks
// arriving (classified x sampleEvery) exceed the classification budget,
// and halves it when they fall well below. Callers hold consume.
func (a *analytics) drain() {
	backlog := a.ring.backlog()
	var took uint64
	// At most what was there when it started: producers as fast as the
	// classifier would otherwise keep it here forever, never adapting.
	for sl := a.ring.next(); sl != nil && took < backlog; sl = a.ring.next() {
		c := a.cls.classify(sl)
		a.ring.release(sl)
		a.add(c)
		took++
	}
	// A new salt for the draws until the next drain: clicks that look
	// alike to the hash (a fake clock, a replayed request ID) are not
	// always in or always out of the sample.
	a.seed.Store(rand.Uint64())
	now := a.clock.Now()
	elapsed := now.Sub(a.lastDrain)
	a.lastDrain = now
	size := uint64(len(a.ring.slots))
	n := a.sampleEvery.Load()
	// Clicks per second arriving, as seen through the sampling.
	arriving := float64(took*n) / max(elapsed.Seconds(), 1e-3)
	switch {
	case (backlog >= size/2 || arriving > a.budget) && n < maxSampleEvery:
		// Up at once to what the budget needs: a burst must not spend
		// its first ticks classifying everything.
		want := n * 2
		for want < maxSampleEvery && float64(want)*a.budget < arriving {
			want *= 2
		}
		a.sampleEvery.Store(want)
		a.lastRaise = now
	case backlog < size/8 && arriving < a.budget/4 && n > 1 && now.Sub(a.lastRaise) > sampleDecay:
		// Down slowly: traffic that pauses comes back.
		a.sampleEvery.Store(n / 2)
		a.lastRaise = now
	}
}

// sampleDecay is how often sampling may halve once clicks slow down.
const sampleDecay = 250 * time.Millisecond

// add counts one classified click. Callers hold consume.
func (a *analytics) add(c click) {
	ca := a.agg[c.code]
	if ca == nil {
		ca = &codeAgg{hours: map[int64]*hourAgg{}}
		a.agg[c.code] = ca
	}
	h := ca.hours[c.hour]
	if h == nil {
		h = &hourAgg{}
		ca.hours[c.hour] = h
	}
	ca.n++
	a.classified++
	if c.bot {
		h.bots++
		return
	}
	h.clicks++
	h.referrers = bump(h.referrers, c.referrer)
	h.devices = bump(h.devices, c.device)
	h.browsers = bump(h.browsers, c.browser)
	h.countries = bump(h.countries, c.country)
}

// take drains the ring and returns what was classified since the last
// take, and whether the classifier sampled or lost clicks meanwhile.
func (a *analytics) take() (agg map[string]*codeAgg, classified uint64, sampled bool) {
	a.consume.Lock()
	defer a.consume.Unlock()
	a.drain()
	agg, classified = a.agg, a.classified
	a.agg, a.classified = map[string]*codeAgg{}, 0
	sampled = a.full.Swap(false) || a.sampleEvery.Load() > 1 || a.wasSampling
	a.wasSampling = a.sampleEvery.Load() > 1
	return agg, classified, sampled
}

// run is the worker: it drains the ring every interval until stop closes.
// When a drain leaves nothing waiting and sampling is off, it sleeps until
// the next click (offer wakes it), so an idle edge does not wake every
// interval; the first click then waits at most one interval, as before.
func (a *analytics) run(stop <-chan struct{}, every time.Duration, done func()) {
	defer done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			a.consume.Lock()
			a.drain()
			idle := a.ring.backlog() == 0 && a.sampleEvery.Load() == 1 && !a.full.Load()
			a.consume.Unlock()
			if !idle {
				continue
			}
			// asleep is set before the ring is looked at again: a click
			// claimed after this look sees asleep and wakes the worker.
			// head is the consumers' (under consume), so the look takes it.
			a.asleep.Store(true)
			a.consume.Lock()
			waiting := a.ring.backlog()
			a.consume.Unlock()
			if waiting != 0 {
				a.asleep.Store(false)
				continue
			}
			t.Stop()
			select {
			case <-stop:
				return
			case <-a.wake:
			}
			t.Reset(every)
		}
	}
}

// codeAgg is one link's classified clicks since the last flush.
type codeAgg struct {
	hours map[int64]*hourAgg // by unix hour start
	n     int64              // classified clicks, bots included
	age   int                // flushes it waited for its count (see flush)
}

// hourAgg is one link's classified clicks in one hour.
type hourAgg struct {
	clicks, bots                            int64
	referrers, devices, browsers, countries map[string]int64
}

// bump counts k, folding new keys into "other" past the wire's cap.
func bump(m map[string]int64, k string) map[string]int64 {
	if m == nil {
		m = map[string]int64{}
	}
	if _, ok := m[k]; !ok && len(m) >= maxBreakdownKeys-1 {
		k = "other"
	}
	m[k]++
	return m
}

// analyticsDrainEvery is how often the worker classifies what waits (the
// default queue of 4096 holds 400k clicks/s of it).
const analyticsDrainEvery = 10 * time.Millisecond

// startAnalytics builds the classifier when cfg.Analytics is on; the
// worker goroutine starts with the other loops.
func (s *Server) startAnalytics() error {
	if !s.cfg.Analytics {
		return nil
	}
	var geo *maxminddb.Reader
	if s.cfg.GeoIPDB != "" {
		var err error
		if geo, err = openGeoIP(s.cfg.GeoIPDB); err != nil {
			return fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	s.an = newAnalytics(s.cfg.AnalyticsQueue, s.cfg.AnalyticsRate, newClassifier(geo), s.cfg.Clock)
	return nil
}

// closeAnalytics releases the GeoIP database once the loops have stopped.
func (s *Server) closeAnalytics() {
	if s.an != nil && s.an.cls.geo != nil {
		_ = s.an.cls.geo.Close()
	}
}
