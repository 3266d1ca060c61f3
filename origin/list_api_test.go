package origin_test

import (
	"fmt"
	"net/url"
	"slices"
	"testing"
)

// TestListLinksAPI: pages in code order with an opaque cursor, tag and q
// filters, limits; a bad cursor, tag or limit is 400.
func TestListLinksAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b)
		var all, tagged, titled []string
		for i := range 23 {
			code := fmt.Sprintf("c%02d", i)
			body := map[string]any{"url": "https://example.com/" + code, "code": code}
			if i%2 == 0 {
				body["tags"] = []string{"even"}
				tagged = append(tagged, code)
			}
			if i%5 == 0 {
				body["title"] = "Spring SALE " + code
				titled = append(titled, code)
			}
			expect(t, o.admin("POST", "/v1/links", body), 201, "")
			all = append(all, code)
		}
		list := func(query string) []string {
			t.Helper()
			var got []string
			cursor := ""
			for range 100 {
				q := query
				if cursor != "" {
					q += "&cursor=" + url.QueryEscape(cursor)
				}
				m := expect(t, o.admin("GET", "/v1/links?"+q, nil), 200, "")
				for _, l := range m["links"].([]any) {
					lm := l.(map[string]any)
					got = append(got, lm["code"].(string))
					if _, ok := lm["tags"].([]any); !ok {
						t.Fatalf("listed link without tags list: %v", lm)
					}
				}
				next, _ := m["next"].(string)
				if next == "" {
					if m["next"] != nil {
						t.Fatalf("next %v, want a cursor or null", m["next"])
					}
					return got
				}
				cursor = next
			}
			t.Fatal("listing never ended")
			return nil
		}
		for _, c := range []struct {
			query string
			want  []string
		}{
			{"limit=5", all},
			{"limit=1000", all},
			{"", all},
			{"tag=even&limit=4", tagged},
			{"q=spring+sale&limit=2", titled},
			{"q=C1&limit=3", []string{"c10", "c11", "c12", "c13", "c14", "c15", "c16", "c17", "c18", "c19"}},
			{"tag=nosuch", nil},
		} {
			if got := list(c.query); !slices.Equal(got, c.want) {
				t.Fatalf("GET /v1/links?%s: %v\n want %v", c.query, got, c.want)
			}
		}
		for _, q := range []string{"cursor=garbage", "cursor=YzEu", "limit=0", "limit=1001", "limit=x", "tag=a%20b"} {
			m := expect(t, o.admin("GET", "/v1/links?"+q, nil), 400, "")
			if m["error"] == "" {
				t.Fatalf("%s: %v", q, m)
			}
		}
		expect(t, o.admin("GET", "/v1/links?cursor=garbage", nil), 400, "invalid_cursor")
	})
}
