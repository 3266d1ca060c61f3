package origin_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestLinkLifecycle(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b)
		// Generated code: 7 characters of [A-Za-z0-9].
		m := expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "https://example.com/a?b=c"}), 201, "")
		code, _ := m["code"].(string)
		if !regexp.MustCompile(`^[A-Za-z0-9]{7}$`).MatchString(code) {
			t.Fatalf("generated code %q is not 7 base62 characters", code)
		}
		if m["redirect"] != 302.0 || m["version"] != 1.0 || m["clicks"] != 0.0 || m["expires_at"] != nil || m["url"] != "https://example.com/a?b=c" {
			t.Fatalf("unexpected link %v", m)
		}
		if _, err := time.Parse(time.RFC3339, m["created_at"].(string)); err != nil {
			t.Fatalf("created_at: %v", err)
		}

		// Custom code, 301, expiry.
		exp := o.clock.Now().Add(time.Hour).Format(time.RFC3339)
		m = expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "http://example.org", "code": "my-Code_1", "redirect": 301, "expires_at": exp}), 201, "")
		if m["code"] != "my-Code_1" || m["redirect"] != 301.0 || m["expires_at"] != exp {
			t.Fatalf("unexpected link %v", m)
		}
		expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "http://other.example", "code": "my-Code_1"}), 409, "code_taken")

		m = expect(t, o.admin("GET", "/v1/links/my-Code_1", nil), 200, "")
		if m["url"] != "http://example.org" || m["version"] != 1.0 {
			t.Fatalf("get: %v", m)
		}
		m = expect(t, o.admin("PATCH", "/v1/links/my-Code_1", map[string]any{"url": "https://new.example/x", "redirect": 308}), 200, "")
		if m["url"] != "https://new.example/x" || m["redirect"] != 308.0 || m["version"] != 2.0 || m["expires_at"] != exp {
			t.Fatalf("patch: %v", m)
		}
		m = expect(t, o.admin("PATCH", "/v1/links/my-Code_1", `{"expires_at":null}`), 200, "")
		if m["expires_at"] != nil || m["version"] != 3.0 {
			t.Fatalf("clearing expiry: %v", m)
		}
		m = expect(t, o.admin("GET", "/v1/links/my-Code_1/stats", nil), 200, "")
		if m["code"] != "my-Code_1" || m["clicks"] != 0.0 {
			t.Fatalf("stats: %v", m)
		}
		expect(t, o.admin("DELETE", "/v1/links/my-Code_1", nil), 204, "")
		expect(t, o.admin("GET", "/v1/links/my-Code_1", nil), 404, "not_found")
		expect(t, o.admin("DELETE", "/v1/links/my-Code_1", nil), 404, "not_found")
		expect(t, o.admin("PATCH", "/v1/links/my-Code_1", map[string]any{"redirect": 301}), 404, "not_found")
		expect(t, o.admin("GET", "/v1/links/my-Code_1/stats", nil), 404, "not_found")
		// Re-created after delete: versions keep growing past the tombstone.
		m = expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "http://example.org", "code": "my-Code_1"}), 201, "")
		if m["version"].(float64) <= 3 {
			t.Fatalf("re-created link version %v did not grow past the deleted one", m["version"])
		}
	})
}

func TestLinkExpiryHonouredOnReads(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b)
		exp := o.clock.Now().Add(time.Minute).Format(time.RFC3339)
		expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "https://e.example", "code": "soon", "expires_at": exp}), 201, "")
		if m := expect(t, o.admin("GET", "/v1/links/soon", nil), 200, ""); m["expired"] != false {
			t.Fatalf("a live link should say expired=false: %v", m)
		}
		o.clock.Advance(time.Minute)
		// shared/API.md: the admin GET still answers 200, marked expired
		// (the edge answers 404: TestExpiredLink* in edge/).
		if m := expect(t, o.admin("GET", "/v1/links/soon", nil), 200, ""); m["expired"] != true || m["url"] != "https://e.example" {
			t.Fatalf("the admin GET of an expired link should be the link marked expired: %v", m)
		}
		m := expect(t, o.admin("GET", "/v1/links/soon/stats", nil), 200, "")
		if m["expired"] != true {
			t.Fatalf("stats of an expired link should say so: %v", m)
		}
		// Still taken, and revivable by a PATCH.
		expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "https://e.example", "code": "soon"}), 409, "code_taken")
		expect(t, o.admin("PATCH", "/v1/links/soon", `{"expires_at":null}`), 200, "")
		if m := expect(t, o.admin("GET", "/v1/links/soon", nil), 200, ""); m["expired"] != false {
			t.Fatalf("a revived link should say expired=false: %v", m)
		}
		// An expiry in the past is refused.
		past := o.clock.Now().Add(-time.Second).Format(time.RFC3339)
		expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "https://e.example", "expires_at": past}), 400, "invalid_expires_at")
	})
}

func TestLinkValidationChangesNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b)
		expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "https://ok.example", "code": "keep"}), 201, "")
		before, err := o.store.Heads(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		badURLs := []string{
			"", "example.com", "/relative", "ftp://x.example", "javascript:alert(1)", "data:text/html,hi",
			"vbscript:msgbox", "https://user:pw@bank.example", "https://bank.example@evil.example",
			"https://e.example/\r\nSet-Cookie:x", "https://e.example/a b", "https://e.example/\x00", "https://",
			"http:///path", "https://e.example:99999/", "https://exa mple.com", "https://" + strings.Repeat("a", 8200) + ".example",
			"mailto:a@b.example", "https:opaque",
		}
		for _, u := range badURLs {
			expect(t, o.admin("POST", "/v1/links", map[string]any{"url": u}), 400, "invalid_url")
			expect(t, o.admin("PATCH", "/v1/links/keep", map[string]any{"url": u}), 400, "invalid_url")
		}
		expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "https://e.example/" + strings.Repeat("a", 8170)}), 201, "")
		for _, c := range []string{"-x", "a/b", "a.b", strings.Repeat("a", 65), "", "é"} {
			expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "https://e.example", "code": c}), 400, "invalid_code")
		}
		for _, r := range []int{200, 300, 303, 304, 404, 0} {
			expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "https://e.example", "redirect": r}), 400, "invalid_redirect")
		}
		for _, body := range []string{"", "{", "[]", `{"url":5}`, `{"url":"https://e.example","extra":1}`, `{"url":"https://e.example"} {}`, `null`, `{"url":"https://e.example","redirect":301.5}`} {
			expect(t, o.admin("POST", "/v1/links", body), 400, "invalid_json")
		}
		expect(t, o.admin("PATCH", "/v1/links/keep", `{}`), 400, "invalid_json")
		expect(t, o.admin("PATCH", "/v1/links/keep", `{"expires_at":"tomorrow"}`), 400, "invalid_expires_at")
		expect(t, o.admin("POST", "/v1/links", strings.Repeat(" ", 70<<10)+`{"url":"https://e.example"}`), 413, "body_too_large")

		// The one valid long-URL create above is the only change.
		after, _ := o.store.Heads(context.Background())
		var diff uint64
		for p := range after {
			diff += after[p] - before[p]
		}
		if diff != 1 {
			t.Fatalf("failed requests appended %d changes beyond the one valid create", diff-1)
		}
		m := expect(t, o.admin("GET", "/v1/links/keep", nil), 200, "")
		if m["version"] != 1.0 || m["url"] != "https://ok.example" {
			t.Fatalf("a failed request changed the link: %v", m)
		}
	})
}

func TestAuth(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b)
		for _, key := range []string{"", "wrong-key-wrong-key", testKey + "x", strings.ToUpper(testKey)} {
			r := o.do("POST", "/v1/links", key, map[string]any{"url": "https://e.example"})
			expect(t, r, 401, "unauthorized")
			if r.header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
			expect(t, o.do("GET", "/v1/stock/x", key, nil), 401, "unauthorized")
			expect(t, o.do("GET", "/v1/nope", key, nil), 401, "unauthorized")
		}
		r := o.do("GET", "/v1/links/x", "", nil, "Authorization", "Basic "+testKey)
		expect(t, r, 401, "unauthorized")
		expect(t, o.admin("GET", "/v1/nope", nil), 404, "not_found")
		if heads, _ := o.store.Heads(context.Background()); sum(heads) != 0 {
			t.Fatal("unauthenticated requests changed storage")
		}
		expect(t, o.do("GET", "/_/healthz", "", nil), 200, "")
		expect(t, o.do("GET", "/_/readyz", "", nil), 200, "")
		r = o.do("GET", "/_/metrics", "", nil)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), "shortstock_origin_auth_failures_total") {
			t.Fatalf("metrics: %d %s", r.status, r.body[:min(200, len(r.body))])
		}
	})
}

func sum(a []uint64) (s uint64) {
	for _, v := range a {
		s += v
	}
	return s
}
