package origin_test

import (
	"strings"
	"testing"
)

// TestConsoleRoutes: the origin serves the console without a key (it is
// static files; its data comes from the keyed /v1/ API), with its security
// headers, and answers other methods 405 with Allow.
func TestConsoleRoutes(t *testing.T) {
	o := newTestOrigin(t, backends[0])
	r := o.do("GET", "/console/", "", nil)
	if r.status != 200 || !strings.Contains(string(r.body), `<script type="module" src="app.js">`) {
		t.Fatalf("GET /console/: %d %.200s", r.status, r.body)
	}
	if r.header.Get("X-Frame-Options") != "DENY" || !strings.Contains(r.header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("headers %v", r.header)
	}
	r = o.do("POST", "/console/", "", "x")
	expect(t, r, 405, "method_not_allowed")
	if r.header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("Allow %q", r.header.Get("Allow"))
	}
	expect(t, o.do("GET", "/consolex", "", nil), 404, "not_found")
}
