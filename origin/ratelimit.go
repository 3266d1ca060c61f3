package origin

import (
	"container/list"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// Names of the limits, in 429 messages and the rate_limited metric.
const (
	limitIP   = "ip"
	limitAuth = "auth_failures"
	limitKey  = "key"
)

// rate is a token bucket's refill rate (tokens per second) and size. A
// non-positive perSec means no limit.
type rate struct {
	perSec, burst float64
}

func (r rate) on() bool { return r.perSec > 0 }

// bucket is a token bucket. It starts full and refills continuously; time
// comes from the caller (the origin's clock), so tests move it with a fake
// clock instead of sleeping.
type bucket struct {
	tokens float64
	last   time.Time
}

func fullBucket(r rate, now time.Time) bucket { return bucket{tokens: r.burst, last: now} }

func (b *bucket) refill(r rate, now time.Time) {
	// A clock that steps back (a fake one, or NTP) refills nothing rather
	// than draining the bucket.
	if dt := now.Sub(b.last); dt > 0 {
		b.tokens = math.Min(r.burst, b.tokens+dt.Seconds()*r.perSec)
		b.last = now
	}
}

// wait is how long until the bucket holds one whole token.
func (b *bucket) wait(r rate) time.Duration {
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) / r.perSec * float64(time.Second))
}

// take removes a token, or says how long until there is one.
func (b *bucket) take(r rate, now time.Time) (bool, time.Duration) {
	b.refill(r, now)
	if b.tokens < 1 {
		return false, b.wait(r)
	}
	b.tokens--
	return true, 0
}

// full reports whether the bucket is back at its size: then it is no
// different from a new one and may be forgotten.
func (b *bucket) full(r rate, now time.Time) bool {
	b.refill(r, now)
	return b.tokens >= r.burst
}

// keyLimiter is one bucket per admin key (by keyring index). The number of
// keys is fixed, so its memory is too.
type keyLimiter struct {
	mu sync.Mutex
	r  rate
	b  []bucket
}

func newKeyLimiter(keys int, r rate, now time.Time) *keyLimiter {
	l := &keyLimiter{r: r, b: make([]bucket, keys)}
	for i := range l.b {
		l.b[i] = fullBucket(r, now)
	}
	return l
}

func (l *keyLimiter) take(i int, now time.Time) (bool, time.Duration) {
	if !l.r.on() {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b[i].take(l.r, now)
}

// ipLimiter keeps two buckets per client IP: every admin request, and
// failed authentications. Memory is bounded: at most max IPs are tracked,
// the least recently seen is dropped first when a new one arrives, and
// idle entries (both buckets full again, so indistinguishable from new
// ones) are dropped as requests pass by, without a background goroutine.
type ipLimiter struct {
	requests, failures rate
	max                int

	mu      sync.Mutex
	entries map[netip.Addr]*list.Element // of *ipEntry
	lru     list.List                    // front: most recently seen
}

type ipEntry struct {
	ip                 netip.Addr
	requests, failures bucket
	// warned: the failure budget ran out and that was logged; cleared once
	// the bucket is full again, so a steady guesser is logged once, not at
	// every refill.
	warned bool
}

func newIPLimiter(requests, failures rate, max int) *ipLimiter {
	return &ipLimiter{requests: requests, failures: failures, max: max, entries: map[netip.Addr]*list.Element{}}
}

// admission is admit's verdict.
type admission struct {
	ok    bool
	limit string        // which limit refused
	wait  time.Duration // until it would not
	// charged: a failure token was taken ahead of the key check (refund it
	// if the key is good). Taking it first, under the lock, bounds how many
	// concurrent guesses can slip past the check at once.
	charged bool
	// blockedNow: this request took the last failure token (log it if the
	// key turns out wrong); blockWait is how long the block will last.
	blockedNow bool
	blockWait  time.Duration
}

// admit decides whether ip may send an admin request now. presented says
// whether the request carries credentials (any Authorization header): only
// those can be guesses, so only those are charged to the failure budget,
// but while that budget is empty every request from ip is refused.
func (l *ipLimiter) admit(ip netip.Addr, presented bool, now time.Time) admission {
	if !l.requests.on() && !l.failures.on() {
		return admission{ok: true}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reap(now, 2)
	e := l.entry(ip, now)
	if l.requests.on() {
		if ok, wait := e.requests.take(l.requests, now); !ok {
			return admission{limit: limitIP, wait: wait}
		}
	}
	var a admission
	if l.failures.on() {
		if e.failures.full(l.failures, now) {
			e.warned = false
		}
		if e.failures.tokens < 1 {
			return admission{limit: limitAuth, wait: e.failures.wait(l.failures)}
		}
		if presented {
			e.failures.tokens--
			a.charged = true
			if e.failures.tokens < 1 && !e.warned {
				e.warned = true
				a.blockedNow, a.blockWait = true, e.failures.wait(l.failures)
			}
		}
	}
	a.ok = true
	return a
}

// refund returns the failure token admit charged, once the key proved good.
func (l *ipLimiter) refund(ip netip.Addr, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	el, ok := l.entries[ip]
	if !ok {
		return // evicted meanwhile: a new entry starts full anyway
	}
	e := el.Value.(*ipEntry)
	e.failures.refill(l.failures, now)
	e.failures.tokens = math.Min(l.failures.burst, e.failures.tokens+1)
	if e.failures.tokens >= 1 {
		e.warned = false
	}
}

// entry finds or creates ip's entry, evicting the least recently seen one
// when the table is full.
func (l *ipLimiter) entry(ip netip.Addr, now time.Time) *ipEntry {
	if el, ok := l.entries[ip]; ok {
		l.lru.MoveToFront(el)
		return el.Value.(*ipEntry)
	}
	for len(l.entries) >= l.max {
		l.remove(l.lru.Back())
	}
	e := &ipEntry{ip: ip, requests: fullBucket(l.requests, now), failures: fullBucket(l.failures, now)}
	l.entries[ip] = l.lru.PushFront(e)
	return e
}

// reap drops up to n idle entries from the least recently seen end.
func (l *ipLimiter) reap(now time.Time, n int) {
	for ; n > 0; n-- {
		el := l.lru.Back()
		if el == nil {
			return
		}
		e := el.Value.(*ipEntry)
		if (l.requests.on() && !e.requests.full(l.requests, now)) || (l.failures.on() && !e.failures.full(l.failures, now)) {
			return
		}
		l.remove(el)
	}
}

func (l *ipLimiter) remove(el *list.Element) {
	delete(l.entries, el.Value.(*ipEntry).ip)
	l.lru.Remove(el)
}

// size is how many client IPs are tracked.
func (l *ipLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// retryAfter turns a wait into Retry-After seconds: whole, at least 1.
func retryAfter(wait time.Duration) int {
	s := int(math.Ceil(wait.Seconds()))
	return max(s, 1)
}

// rateLimited answers 429 with Retry-After.
func (s *Server) rateLimited(w http.ResponseWriter, limit string, wait time.Duration) {
	s.metrics.rateLimited.WithLabelValues(limit).Inc()
	secs := retryAfter(wait)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	msg := "too many requests; retry after " + strconv.Itoa(secs) + " s"
	switch limit {
	case limitAuth:
		msg = "too many failed authentications from this client; retry after " + strconv.Itoa(secs) + " s"
	case limitKey:
		msg = "too many requests with this key; retry after " + strconv.Itoa(secs) + " s"
	}
	writeJSON(w, http.StatusTooManyRequests, &apiError{Code: "rate_limited", Message: msg})
}
