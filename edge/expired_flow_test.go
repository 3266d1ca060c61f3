package edge

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// TestExpiredLinkIs404AtTheEdgeAnd200ForTheAdmin: shared/API.md's split for
// an expired link: the edge answers 404 (even with the link cached), while
// the origin's admin GET answers 200 with the link marked "expired": true.
func TestExpiredLinkIs404AtTheEdgeAnd200ForTheAdmin(t *testing.T) {
	ro := newRealOrigin(t)
	e := ro.edge(t)
	exp := time.Now().Add(2 * time.Second).UTC().Truncate(time.Second).Add(time.Second)
	ro.mustAdmin("POST", "/v1/links", map[string]any{"url": "https://example.com/x", "code": "soon", "expires_at": exp.Format(time.RFC3339)}, 201)
	if a := e.get("/soon"); a.status != 302 {
		t.Fatalf("before expiry: %+v", a)
	}
	eventually(t, 20*time.Second, func() string {
		if a := e.get("/soon"); a.status != 404 {
			return fmt.Sprintf("edge after expiry: %+v, want 404", a)
		}
		return ""
	})
	if time.Now().Before(exp) {
		t.Fatalf("edge answered 404 before the expiry %s", exp)
	}
	var l struct {
		URL     string `json:"url"`
		Expired bool   `json:"expired"`
	}
	if err := json.Unmarshal(ro.mustAdmin("GET", "/v1/links/soon", nil, 200), &l); err != nil || !l.Expired || l.URL != "https://example.com/x" {
		t.Fatalf("admin GET of an expired link: %+v %v, want 200 marked expired", l, err)
	}
}
