package adminsec

import (
	"fmt"
	"net/http"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func TestBucketRefillsAndSaysHowLong(t *testing.T) {
	r := Rate{PerSec: 2, Burst: 3}
	b := fullBucket(r, t0)
	for i := 0; i < 3; i++ {
		if ok, _ := b.take(r, t0); !ok {
			t.Fatalf("take %d refused within the burst", i)
		}
	}
	ok, wait := b.take(r, t0)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("empty bucket: ok=%v wait=%v, want refused for 500ms", ok, wait)
	}
	if ok, _ := b.take(r, t0.Add(499*time.Millisecond)); ok {
		t.Fatal("a token appeared early")
	}
	if ok, _ := b.take(r, t0.Add(500*time.Millisecond)); !ok {
		t.Fatal("no token after 500ms at 2/s")
	}
	// A clock stepping back refills nothing and breaks nothing.
	if ok, _ := b.take(r, t0); ok {
		t.Fatal("stepping the clock back made a token")
	}
	if b.full(r, t0.Add(time.Hour)) != true {
		t.Fatal("bucket not full after an hour")
	}
	if b.tokens != 3 {
		t.Fatalf("tokens %v above the burst", b.tokens)
	}
}

func TestRetryAfterIsWholeSecondsAtLeastOne(t *testing.T) {
	for wait, want := range map[time.Duration]int{0: 1, time.Nanosecond: 1, 999 * time.Millisecond: 1, time.Second: 1, 1001 * time.Millisecond: 2, 20 * time.Second: 20} {
		if got := RetryAfter(wait); got != want {
			t.Errorf("RetryAfter(%v) = %d, want %d", wait, got, want)
		}
	}
}

func TestKeyLimiterPerKey(t *testing.T) {
	l := NewKeyLimiter(2, Rate{PerSec: 10, Burst: 2}, t0)
	for i := 0; i < 2; i++ {
		if ok, _ := l.Take(0, t0); !ok {
			t.Fatal("refused within burst")
		}
	}
	if ok, wait := l.Take(0, t0); ok || wait != 100*time.Millisecond {
		t.Fatalf("key 0 over its Burst: %v %v", ok, wait)
	}
	if ok, _ := l.Take(1, t0); !ok {
		t.Fatal("key 1 suffered for key 0")
	}
	off := NewKeyLimiter(1, Rate{PerSec: -1, Burst: 1}, t0)
	for i := 0; i < 1000; i++ {
		if ok, _ := off.Take(0, t0); !ok {
			t.Fatal("a limit that is off refused")
		}
	}
}

// good and bad stand for a key lookup that accepts and one that refuses.
func good() bool { return true }
func bad() bool  { return false }

var (
	ipA = netip.MustParseAddr("192.0.2.1")
	ipB = netip.MustParseAddr("192.0.2.2")
)

func TestIPLimiterRequests(t *testing.T) {
	l := NewIPLimiter(Rate{PerSec: 1, Burst: 3}, Rate{PerSec: -1}, 100)
	for i := 0; i < 3; i++ {
		if a := l.Admit(ipA, good, t0); !a.OK {
			t.Fatalf("request %d refused: %+v", i, a)
		}
	}
	a := l.Admit(ipA, good, t0)
	if a.OK || a.Limit != LimitIP || a.Wait != time.Second {
		t.Fatalf("4th request: %+v", a)
	}
	if a := l.Admit(ipB, good, t0); !a.OK {
		t.Fatal("another IP suffered")
	}
	if a := l.Admit(ipA, good, t0.Add(time.Second)); !a.OK {
		t.Fatal("no refill after a second")
	}
}

// Failed authentications drain their own budget; once it is empty every
// request from the IP is refused before any key is looked at, and a
// success gives back what it was charged.
func TestIPLimiterAuthFailures(t *testing.T) {
	l := NewIPLimiter(Rate{PerSec: -1}, Rate{PerSec: 0.5, Burst: 3}, 100)
	now := t0
	// Successes cost nothing.
	for i := 0; i < 10; i++ {
		if a := l.Admit(ipA, good, now); !a.OK || a.Failed {
			t.Fatalf("admit %d: %+v", i, a)
		}
	}
	// Requests without credentials are not guesses: not charged.
	if a := l.Admit(ipA, nil, now); !a.OK || a.Failed {
		t.Fatalf("no credentials: %+v", a)
	}
	// Three failures: the third takes the last token and says so once.
	for i := 0; i < 3; i++ {
		a := l.Admit(ipA, bad, now)
		if !a.OK || a.BlockedNow != (i == 2) {
			t.Fatalf("failure %d: %+v", i, a)
		}
	}
	for _, check := range []func() bool{good, bad, nil} {
		a := l.Admit(ipA, check, now)
		if a.OK || a.Limit != LimitAuth || a.Wait != 2*time.Second {
			t.Fatalf("blocked IP (credentials %v): %+v", check != nil, a)
		}
	}
	if a := l.Admit(ipB, bad, now); !a.OK {
		t.Fatal("another IP suffered")
	}
	// One token back after 2 s: one more try, no second warning.
	now = now.Add(2 * time.Second)
	if a := l.Admit(ipA, bad, now); !a.OK || a.BlockedNow {
		t.Fatalf("after refill: %+v", a)
	}
	if a := l.Admit(ipA, bad, now); a.OK {
		t.Fatal("second try without a token")
	}
	// Once full again, a new run of failures warns again.
	now = now.Add(time.Minute)
	for i := 0; i < 3; i++ {
		if a := l.Admit(ipA, bad, now); !a.OK || a.BlockedNow != (i == 2) {
			t.Fatalf("second run, failure %d: %+v", i, a)
		}
	}
}

// Good keys never touch the failure budget, however many are in flight at
// once from one client, and concurrent guessers together get no more tries
// than the budget holds. (Charging a token ahead of each check and
// refunding it after refused a client's concurrent good requests once more
// were in flight than the budget's size.)
func TestIPLimiterConcurrentChecks(t *testing.T) {
	const burst = 3
	l := NewIPLimiter(Rate{PerSec: -1}, Rate{PerSec: 1, Burst: burst}, 100)
	slow := func(ok bool) func() bool {
		return func() bool {
			// A lookup that takes a while and yields, so checks from
			// several goroutines would overlap if they could.
			for i := 0; i < 20; i++ {
				runtime.Gosched()
			}
			return ok
		}
	}
	var wg sync.WaitGroup
	var refused, tried atomic.Int64
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if a := l.Admit(ipA, slow(true), t0); !a.OK {
				refused.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := refused.Load(); n != 0 {
		t.Fatalf("%d of 200 concurrent good requests refused", n)
	}
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if a := l.Admit(ipB, slow(false), t0); a.OK {
				tried.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := tried.Load(); n != burst {
		t.Fatalf("200 concurrent guesses: %d got a try, the budget holds %d", n, burst)
	}
}

// Memory stays bounded: a flood of distinct IPs never tracks more than the
// cap, and idle entries go away as requests pass.
func TestIPLimiterBoundedMemory(t *testing.T) {
	l := NewIPLimiter(Rate{PerSec: 10, Burst: 5}, Rate{PerSec: 1, Burst: 5}, 64)
	for i := 0; i < 10000; i++ {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		l.Admit(ip, bad, t0)
		if n := l.Size(); n > 64 {
			t.Fatalf("tracking %d IPs, cap 64", n)
		}
	}
	// Later, everything is idle: each request reaps up to two.
	later := t0.Add(time.Hour)
	for i := 0; i < 40; i++ {
		l.Admit(ipA, nil, later)
	}
	if n := l.Size(); n != 1 {
		t.Fatalf("%d IPs tracked after all went idle, want 1", n)
	}
	// An active, drained IP survives reaping.
	for i := 0; i < 5; i++ {
		l.Admit(ipB, bad, later)
	}
	for i := 0; i < 10; i++ {
		l.Admit(ipA, nil, later)
	}
	if n := l.Size(); n != 2 {
		t.Fatalf("%d IPs tracked, want 2 (A and the drained B)", n)
	}
}

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	for _, tc := range []struct {
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"203.0.113.7:5000", nil, nil, "203.0.113.7"},
		{"203.0.113.7:5000", []string{"1.2.3.4"}, nil, "203.0.113.7"},     // no trusted proxy: header ignored
		{"203.0.113.7:5000", []string{"1.2.3.4"}, trusted, "203.0.113.7"}, // untrusted peer: ignored
		{"10.0.0.5:5000", []string{"1.2.3.4"}, trusted, "1.2.3.4"},
		{"10.0.0.5:5000", []string{"6.6.6.6, 1.2.3.4"}, trusted, "1.2.3.4"},                   // spoofed left part ignored
		{"10.0.0.5:5000", []string{"6.6.6.6, 1.2.3.4, 10.0.0.9"}, trusted, "1.2.3.4"},         // two proxies
		{"10.0.0.5:5000", []string{"6.6.6.6", "1.2.3.4"}, trusted, "1.2.3.4"},                 // several headers
		{"10.0.0.5:5000", []string{"garbage, 10.0.0.9"}, trusted, "10.0.0.9"},                 // unreadable: last trusted hop
		{"10.0.0.5:5000", []string{"1.2.3.4:9999"}, trusted, "1.2.3.4"},                       // with a port
		{"10.0.0.5:5000", []string{"[2001:db8::1]:9999"}, trusted, "2001:db8::"},              // v6 per /64
		{"10.0.0.5:5000", nil, trusted, "10.0.0.5"},                                           // no header
		{"10.0.0.5:5000", []string{"10.0.0.1, 10.0.0.2"}, trusted, "10.0.0.1"},                // all trusted: leftmost
		{"[::ffff:10.0.0.5]:5000", []string{"::ffff:1.2.3.4"}, trusted, "1.2.3.4"},            // mapped forms
		{"[2001:db8:1:2:3:4:5:6]:5000", nil, nil, "2001:db8:1:2::"},                           // v6 per /64
		{"[fd00::1]:5000", []string{"2001:db8:1:2:3:4:5:6"}, trusted, "2001:db8:1:2::"},       // through a v6 proxy
		{"@", nil, trusted, "invalid IP"},                                                     // unix socket
		{"10.0.0.5:5000", []string{"1.2.3.4,,,"}, trusted, "10.0.0.5"},                        // empty entries
		{"[fe80::1%eth0]:5000", nil, nil, "fe80::"},                                           // zone dropped
		{"10.0.0.5:5000", []string{"  1.2.3.4  ,  10.0.0.7  "}, trusted, "1.2.3.4"},           // spaces
		{"10.0.0.5:5000", []string{"1.2.3.4, unknown"}, trusted, "10.0.0.5"},                  // RFC 7239 style token
		{"10.0.0.5:5000", []string{fmt.Sprint(manyHops(100), "1.2.3.4")}, trusted, "1.2.3.4"}, // long chain
	} {
		r := &http.Request{RemoteAddr: tc.remote, Header: http.Header{}}
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := ClientIP(r, tc.trusted).String(); got != tc.want {
			t.Errorf("remote %s xff %q: %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}

func manyHops(n int) string {
	s := ""
	for i := 0; i < n; i++ {
		s += "6.6.6.6, "
	}
	return s
}
