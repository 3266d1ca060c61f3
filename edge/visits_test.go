package edge

import (
	"fmt"
	"testing"
	"time"
)

// TestMaxVisitsOneEdge: an edge redirects a limited link exactly
// max_visits times, then answers 404 (HEAD too, without using a visit);
// raising the limit lets the rest through; with the origin unreachable a
// limited link is refused rather than risk exceeding its limit.
func TestMaxVisitsOneEdge(t *testing.T) {
	ro := newRealOrigin(t)
	e := ro.edge(t)
	ro.mustAdmin("POST", "/v1/links", map[string]any{"url": "https://example.com/lim", "code": "lim", "max_visits": 5}, 201)
	ok := 0
	for range 12 {
		switch a := e.get("/lim"); a.status {
		case 302:
			ok++
		case 404:
		default:
			t.Fatalf("GET /lim: %+v", a)
		}
	}
	if ok != 5 {
		t.Fatalf("%d redirects, want exactly max_visits 5", ok)
	}
	if a := e.do("HEAD", "/lim"); a.status != 404 {
		t.Fatalf("HEAD past the limit: %+v", a)
	}
	ro.mustAdmin("PATCH", "/v1/links/lim", map[string]any{"max_visits": 8}, 200)
	eventually(t, 5*time.Second, func() string {
		if a := e.get("/lim"); a.status == 302 {
			ok++
		}
		if ok < 8 {
			return fmt.Sprintf("%d redirects after raising max_visits to 8", ok)
		}
		return ""
	})
	for range 5 {
		if a := e.get("/lim"); a.status == 302 {
			t.Fatalf("redirect %d past max_visits 8", ok+1)
		}
	}

	ro.mustAdmin("POST", "/v1/links", map[string]any{"url": "https://example.com/down", "code": "down", "max_visits": 1000}, 201)
	if a := e.get("/down"); a.status != 302 {
		t.Fatalf("first visit: %+v", a)
	}
	// Lose the origin: the edge may still use the share it holds (the
	// store counted it), then refuses, though the link is cached.
	ro.kill()
	more := 0
	for range 20 {
		if a := e.get("/down"); a.status == 302 {
			more++
		}
	}
	if more >= visitFirstWant {
		t.Fatalf("%d redirects with the origin down; the edge held at most %d", more, visitFirstWant-1)
	}
	if a := e.get("/down"); a.status != 404 {
		t.Fatalf("with the origin down and the share used: %+v", a)
	}
}
