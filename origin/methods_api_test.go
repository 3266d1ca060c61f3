package origin_test

import (
	"context"
	"testing"
)

// TestWrongMethodIs405WithAllow: a path that exists under other methods
// answers 405 with the methods it accepts in Allow (shared/API.md), after
// the key check on /v1/; an unknown path stays 404; nothing is written.
func TestWrongMethodIs405WithAllow(t *testing.T) {
	o := newTestOrigin(t, backends[0])
	for _, c := range []struct{ method, path, allow string }{
		{"PUT", "/v1/links/abc", "GET, HEAD, PATCH, DELETE"},
		{"POST", "/v1/links/abc", "GET, HEAD, PATCH, DELETE"},
		{"PUT", "/v1/links", "GET, HEAD, POST"},
		{"DELETE", "/v1/links", "GET, HEAD, POST"},
		{"POST", "/v1/links/abc/stats", "GET, HEAD"},
		{"GET", "/v1/stock/S/W", "PUT"},
		{"GET", "/v1/stock/S/W/adjust", "POST"},
		{"DELETE", "/v1/stock/S", "GET, HEAD"},
		{"GET", "/v1/reservations", "POST"},
		{"GET", "/v1/reservations/r1/commit", "POST"},
		{"PATCH", "/v1/reservations/r1", "GET, HEAD"},
		{"POST", "/_/healthz", "GET, HEAD"},
		{"DELETE", "/_/metrics", "GET, HEAD"},
	} {
		r := o.admin(c.method, c.path, nil)
		expect(t, r, 405, "method_not_allowed")
		if got := r.header.Get("Allow"); got != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
		}
	}
	// Unknown paths are still 404, and /v1/ still asks for the key before
	// saying anything about routes.
	expect(t, o.admin("PUT", "/v1/nope", nil), 404, "not_found")
	expect(t, o.admin("GET", "/nope", nil), 404, "not_found")
	expect(t, o.do("PUT", "/v1/links/abc", "", nil), 401, "unauthorized")
	if heads, _ := o.store.Heads(context.Background()); sum(heads) != 0 {
		t.Fatal("a refused method changed storage")
	}
}
