package adminsec

import (
	"container/list"
	"math"
	"net/netip"
	"sync"
	"time"
)

// Names of the limits, in 429 messages and the rate_limited metric.
const (
	LimitIP   = "ip"
	LimitAuth = "auth_failures"
	LimitKey  = "key"
)

// Rate is a token bucket's refill rate (tokens per second) and size. A
// non-positive perSec means no limit.
type Rate struct {
	PerSec, Burst float64
}

func (r Rate) on() bool { return r.PerSec > 0 }

// bucket is a token bucket. It starts full and refills continuously; time
// comes from the caller (the origin's clock), so tests move it with a fake
// clock instead of sleeping.
type bucket struct {
	tokens float64
	last   time.Time
}

func fullBucket(r Rate, now time.Time) bucket { return bucket{tokens: r.Burst, last: now} }

func (b *bucket) refill(r Rate, now time.Time) {
	// A clock that steps back (a fake one, or NTP) refills nothing rather
	// than draining the bucket.
	if dt := now.Sub(b.last); dt > 0 {
		b.tokens = math.Min(r.Burst, b.tokens+dt.Seconds()*r.PerSec)
		b.last = now
	}
}

// wait is how long until the bucket holds one whole token.
func (b *bucket) wait(r Rate) time.Duration {
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) / r.PerSec * float64(time.Second))
}

// take removes a token, or says how long until there is one.
func (b *bucket) take(r Rate, now time.Time) (bool, time.Duration) {
	b.refill(r, now)
	if b.tokens < 1 {
		return false, b.wait(r)
	}
	b.tokens--
	return true, 0
}

// full reports whether the bucket is back at its size: then it is no
// different from a new one and may be forgotten.
func (b *bucket) full(r Rate, now time.Time) bool {
	b.refill(r, now)
	return b.tokens >= r.Burst
}

// KeyLimiter is one bucket per admin key (by Keyring index). The number of
// keys is fixed, so its memory is too.
type KeyLimiter struct {
	mu sync.Mutex
	r  Rate
	b  []bucket
}

func NewKeyLimiter(keys int, r Rate, now time.Time) *KeyLimiter {
	l := &KeyLimiter{r: r, b: make([]bucket, keys)}
	for i := range l.b {
		l.b[i] = fullBucket(r, now)
	}
	return l
}

// Take takes a token from key i's bucket, or says how long until one.
func (l *KeyLimiter) Take(i int, now time.Time) (bool, time.Duration) {
	if !l.r.on() {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b[i].take(l.r, now)
}

// IPLimiter keeps two buckets per client IP: every admin request, and
// failed authentications. Memory is bounded: at most max IPs are tracked,
// the least recently seen is dropped first when a new one arrives, and
// idle entries (both buckets full again, so indistinguishable from new
// ones) are dropped as requests pass by, without a background goroutine.
type IPLimiter struct {
	requests, failures Rate
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

func NewIPLimiter(requests, failures Rate, max int) *IPLimiter {
	return &IPLimiter{requests: requests, failures: failures, max: max, entries: map[netip.Addr]*list.Element{}}
}

// Admission is Admit's verdict.
type Admission struct {
	OK    bool
	Limit string        // which limit refused
	Wait  time.Duration // until it would not
	// Failed: the request presented credentials and check refused them;
	// it was charged to the failure budget.
	Failed bool
	// BlockedNow: this failure took the last failure token (log it);
	// BlockWait is how long the block will last.
	BlockedNow bool
	BlockWait  time.Duration
}

// Admit decides whether ip may send an admin request now and, when the
// request carries credentials (check is not nil), checks them: check runs
// under the limiter's lock, and only a refusal is charged to ip's failure
// budget. While that budget is empty every request from ip is refused
// before check runs, so a guesser who ran out learns nothing more.
//
// Checking under the lock makes the budget exact both ways: concurrent
// guesses cannot slip past it (each sees the failures before it), and
// concurrent good keys never touch it. An earlier version charged a token
// ahead of the check and refunded it after, which refused a client's 21st
// concurrent good request as a guesser. check is a key lookup (a SHA-256
// and constant-time compares, about a microsecond), so holding the lock
// for it costs little.
func (l *IPLimiter) Admit(ip netip.Addr, check func() bool, now time.Time) Admission {
	if !l.requests.on() && !l.failures.on() {
		if check != nil && !check() {
			return Admission{OK: true, Failed: true}
		}
		return Admission{OK: true}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reap(now, 2)
	e := l.entry(ip, now)
	if l.requests.on() {
		if ok, wait := e.requests.take(l.requests, now); !ok {
			return Admission{Limit: LimitIP, Wait: wait}
		}
	}
	a := Admission{OK: true}
	if l.failures.on() {
		if e.failures.full(l.failures, now) {
			e.warned = false
		}
		if e.failures.tokens < 1 {
			return Admission{Limit: LimitAuth, Wait: e.failures.wait(l.failures)}
		}
	}
	if check == nil || check() {
		return a
	}
	a.Failed = true
	if l.failures.on() {
		e.failures.tokens--
		if e.failures.tokens < 1 && !e.warned {
			e.warned = true
			a.BlockedNow, a.BlockWait = true, e.failures.wait(l.failures)
		}
	}
	return a
}

// entry finds or creates ip's entry, evicting the least recently seen one
// when the table is full.
func (l *IPLimiter) entry(ip netip.Addr, now time.Time) *ipEntry {
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
func (l *IPLimiter) reap(now time.Time, n int) {
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

func (l *IPLimiter) remove(el *list.Element) {
	delete(l.entries, el.Value.(*ipEntry).ip)
	l.lru.Remove(el)
}

// Size is how many client IPs are tracked.
func (l *IPLimiter) Size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// RetryAfter turns a wait into Retry-After seconds: whole, at least 1.
func RetryAfter(wait time.Duration) int {
	s := int(math.Ceil(wait.Seconds()))
	return max(s, 1)
}
