package origin_test

import (
	"reflect"
	"testing"
	"time"
)

// TestLinkExtrasAPI: tags, title, max_visits, valid_since, forward_query
// and targets are stored, shown, patched and cleared; bad values are 400
// and change nothing.
func TestLinkExtrasAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b)
		now := o.clock.Now()
		since := now.Add(time.Hour).UTC().Format(time.RFC3339)
		exp := now.Add(2 * time.Hour).UTC().Format(time.RFC3339)
		m := expect(t, o.admin("POST", "/v1/links", map[string]any{
			"url": "https://example.com/", "code": "x1", "tags": []string{"b", "a", "b"}, "title": "Hello",
			"max_visits": 5, "valid_since": since, "expires_at": exp, "forward_query": true,
			"targets": map[string]any{"ios": "https://apps.apple.com/a"},
		}), 201, "")
		if !reflect.DeepEqual(m["tags"], []any{"a", "b"}) || m["title"] != "Hello" || m["max_visits"] != 5.0 ||
			m["valid_since"] != since || m["forward_query"] != true || !reflect.DeepEqual(m["targets"], map[string]any{"ios": "https://apps.apple.com/a"}) {
			t.Fatalf("created: %v", m)
		}
		plain := expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "https://example.com/p", "code": "p1"}), 201, "")
		if !reflect.DeepEqual(plain["tags"], []any{}) || plain["max_visits"] != nil || plain["valid_since"] != nil || plain["forward_query"] != false {
			t.Fatalf("plain link: %v", plain)
		}

		for _, c := range []struct {
			body any
			code string
		}{
			{map[string]any{"url": "https://example.com/", "tags": []string{"has space"}}, "invalid_tags"},
			{map[string]any{"url": "https://example.com/", "tags": []string{"abcdefghijklmnopqrstuvwxyz0123456"}}, "invalid_tags"},
			{map[string]any{"url": "https://example.com/", "tags": "a"}, "invalid_tags"},
			{map[string]any{"url": "https://example.com/", "max_visits": 0}, "invalid_max_visits"},
			{map[string]any{"url": "https://example.com/", "max_visits": -3}, "invalid_max_visits"},
			{map[string]any{"url": "https://example.com/", "max_visits": 1.5}, "invalid_max_visits"},
			{map[string]any{"url": "https://example.com/", "valid_since": exp, "expires_at": since}, "invalid_valid_since"},
			{map[string]any{"url": "https://example.com/", "valid_since": "tomorrow"}, "invalid_valid_since"},
			{map[string]any{"url": "https://example.com/", "targets": map[string]any{"ios": "ftp://x"}}, "invalid_targets"},
			{map[string]any{"url": "https://example.com/", "targets": map[string]any{"windows": "https://x"}}, "invalid_targets"},
			{map[string]any{"url": "https://example.com/", "forward_query": "yes"}, "invalid_forward_query"},
			{map[string]any{"url": "https://example.com/", "title": "a\u0000b"}, "invalid_title"},
		} {
			expect(t, o.admin("POST", "/v1/links", c.body), 400, c.code)
		}

		// PATCH: valid_since after the stored expiry is refused and changes
		// nothing; so are a bad tag and max_visits 0.
		late := now.Add(3 * time.Hour).UTC().Format(time.RFC3339)
		expect(t, o.admin("PATCH", "/v1/links/x1", map[string]any{"valid_since": late, "title": "changed"}), 400, "")
		expect(t, o.admin("PATCH", "/v1/links/x1", map[string]any{"tags": []string{"ok", "n/o"}}), 400, "invalid_tags")
		expect(t, o.admin("PATCH", "/v1/links/x1", map[string]any{"max_visits": 0}), 400, "invalid_max_visits")
		m = expect(t, o.admin("GET", "/v1/links/x1", nil), 200, "")
		if m["version"] != 1.0 || m["title"] != "Hello" || m["valid_since"] != since {
			t.Fatalf("after refused patches: %v", m)
		}
		m = expect(t, o.admin("PATCH", "/v1/links/x1", `{"tags":["z"],"title":null,"max_visits":null,"valid_since":null,"forward_query":false,"targets":null}`), 200, "")
		if !reflect.DeepEqual(m["tags"], []any{"z"}) || m["title"] != "" || m["max_visits"] != nil || m["valid_since"] != nil ||
			m["forward_query"] != false || m["targets"] != nil || m["version"] != 2.0 {
			t.Fatalf("after clearing patch: %v", m)
		}
	})
}
