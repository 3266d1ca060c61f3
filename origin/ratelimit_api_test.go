package origin_test

import (
	"context"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin"
)

func nan() float64 { return math.NaN() }

// behindProxy makes the test client a trusted proxy, so each request
// names its client IP in X-Forwarded-For.
func behindProxy(c *origin.Config) {
	c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

// expect429 checks a rate-limited answer: the error shape and a
// Retry-After of whole seconds, at least 1 and at most max.
func expect429(t *testing.T, r resp, max int) {
	t.Helper()
	expect(t, r, 429, "rate_limited")
	n, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || n < 1 || n > max {
		t.Fatalf("Retry-After %q, want an integer in 1..%d", r.header.Get("Retry-After"), max)
	}
}

func TestRateLimitPerKey(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b, withScopedKeys, behindProxy, func(c *origin.Config) {
			c.KeyRate, c.KeyBurst = 1, 3
			c.IPRate, c.AuthFailureRate = -1, -1
		})
		from := func(i int) []string { return []string{"X-Forwarded-For", "203.0.113." + strconv.Itoa(i)} }
		for i := 0; i < 3; i++ {
			expect(t, o.do("GET", "/v1/stock/S", readKey, nil, from(i)...), 404, "not_found")
		}
		// The key is spent whatever IP it comes from.
		expect429(t, o.do("GET", "/v1/stock/S", readKey, nil, from(9)...), 1)
		// A write over the key's budget is refused without touching storage.
		before, _ := o.store.Heads(context.Background())
		for i := 0; i < 3; i++ {
			expect(t, o.do("POST", "/v1/links", linksKey, map[string]any{"url": "https://e.example"}), 201, "")
		}
		expect429(t, o.do("POST", "/v1/links", linksKey, map[string]any{"url": "https://e.example"}), 1)
		after, _ := o.store.Heads(context.Background())
		if sum(after)-sum(before) != 3 {
			t.Fatalf("%d changes, want only the 3 accepted writes", sum(after)-sum(before))
		}
		// Other keys have their own budget.
		expect(t, o.admin("GET", "/v1/stock/S", nil), 404, "not_found")
		// One token a second.
		o.clock.Advance(time.Second)
		expect(t, o.do("GET", "/v1/stock/S", readKey, nil), 404, "not_found")
		expect429(t, o.do("GET", "/v1/stock/S", readKey, nil), 1)
		o.clock.Advance(time.Hour)
		for i := 0; i < 3; i++ {
			expect(t, o.do("GET", "/v1/stock/S", readKey, nil), 404, "not_found")
		}
	})
}

func TestRateLimitPerIP(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b, behindProxy, func(c *origin.Config) {
			c.IPRate, c.IPBurst = 0.5, 4
			c.KeyRate, c.AuthFailureRate = -1, -1
		})
		a := []string{"X-Forwarded-For", "198.51.100.1"}
		other := []string{"X-Forwarded-For", "198.51.100.2"}
		v6a := []string{"X-Forwarded-For", "2001:db8:1:1::1"}
		v6b := []string{"X-Forwarded-For", "2001:db8:1:1::2"} // same /64
		for i := 0; i < 4; i++ {
			expect(t, o.admin("GET", "/v1/stock/S", nil, a...), 404, "not_found")
		}
		expect429(t, o.admin("GET", "/v1/stock/S", nil, a...), 2)
		expect429(t, o.do("GET", "/v1/stock/S", "", nil, a...), 2) // unkeyed requests count too
		expect(t, o.admin("GET", "/v1/stock/S", nil, other...), 404, "not_found")
		// A spoofed X-Forwarded-For prefix does not buy a new budget: the
		// proxy appends the real client last.
		expect429(t, o.admin("GET", "/v1/stock/S", nil, "X-Forwarded-For", "192.0.2.99, 198.51.100.1"), 2)
		for i := 0; i < 4; i++ {
			expect(t, o.admin("GET", "/v1/stock/S", nil, v6a...), 404, "not_found")
		}
		expect429(t, o.admin("GET", "/v1/stock/S", nil, v6b...), 2)
		o.clock.Advance(2 * time.Second)
		expect(t, o.admin("GET", "/v1/stock/S", nil, a...), 404, "not_found")
		expect429(t, o.admin("GET", "/v1/stock/S", nil, a...), 2)
	})
}

// Failed authentications from one IP are limited much more tightly; once
// over, the IP is refused before any key is checked, even a right one, so
// guessing stops; other IPs are not affected.
func TestRateLimitAuthFailures(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b, behindProxy, func(c *origin.Config) {
			c.AuthFailureRate, c.AuthFailureBurst = 0.5, 3
		})
		guesser := []string{"X-Forwarded-For", "192.0.2.66"}
		honest := []string{"X-Forwarded-For", "192.0.2.7"}
		// Successes cost nothing.
		for i := 0; i < 10; i++ {
			expect(t, o.admin("GET", "/v1/stock/S", nil, guesser...), 404, "not_found")
		}
		// Requests without a key are not guesses.
		for i := 0; i < 10; i++ {
			expect(t, o.do("GET", "/v1/stock/S", "", nil, guesser...), 401, "unauthorized")
		}
		for i := 0; i < 3; i++ {
			expect(t, o.do("POST", "/v1/links", "guess-"+strconv.Itoa(i)+"-0123456789", map[string]any{"url": "https://e.example"}, guesser...), 401, "unauthorized")
		}
		expect429(t, o.do("GET", "/v1/stock/S", "guess-3-0123456789", nil, guesser...), 2)
		expect429(t, o.admin("POST", "/v1/links", map[string]any{"url": "https://e.example"}, guesser...), 2)
		expect429(t, o.do("GET", "/v1/stock/S", "", nil, guesser...), 2)
		if heads, _ := o.store.Heads(context.Background()); sum(heads) != 0 {
			t.Fatal("a refused request changed storage")
		}
		expect(t, o.admin("GET", "/v1/stock/S", nil, honest...), 404, "not_found")
		expect(t, o.do("GET", "/v1/stock/S", "wrong-key-0123456789", nil, honest...), 401, "unauthorized")
		// A token comes back every 2 s: one more try, no more.
		o.clock.Advance(2 * time.Second)
		expect(t, o.admin("GET", "/v1/stock/S", nil, guesser...), 404, "not_found")
		expect(t, o.do("GET", "/v1/stock/S", "guess-4-0123456789", nil, guesser...), 401, "unauthorized")
		expect429(t, o.do("GET", "/v1/stock/S", "guess-5-0123456789", nil, guesser...), 2)
		m := o.do("GET", "/_/metrics", "", nil)
		if !containsAll(string(m.body), `shortstock_origin_rate_limited_total{limit="auth_failures"`, "shortstock_origin_rate_limit_tracked_ips") {
			t.Fatal("rate limit metrics missing")
		}
	})
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
