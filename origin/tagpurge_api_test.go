package origin_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/origin"
	"github.com/shortstock/shortstock/origin/purgehook"
)

// TestTagPurgeExpands: a purge by tag logs one purge record per link
// carrying the tag (hard or soft) and none for others; a purge whose tags
// reach more than 1000 links is refused and logs nothing.
func TestTagPurgeExpands(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			o := newTestOrigin(t, b)
			for i, tags := range [][]string{{"promo"}, {"promo", "x"}, {"x"}, nil} {
				body := map[string]any{"url": "https://example.com/", "code": fmt.Sprintf("tp%d", i)}
				if tags != nil {
					body["tags"] = tags
				}
				expect(t, o.admin("POST", "/v1/links", body), 201, "")
			}
			expect(t, o.admin("POST", "/v1/purge", `{"tags":["promo","nobody"],"soft":true}`), 202, "")
			want := []string{"l:tp0", "l:tp1"}
			var got []string
			deadline := time.Now().Add(5 * time.Second)
			for {
				got = got[:0]
				o.mu.Lock()
				for _, c := range o.published {
					if c.Purge != 0 {
						if c.Purge != change.PurgeSoft {
							t.Errorf("purge kind %d, want soft", c.Purge)
						}
						got = append(got, c.Key)
					}
				}
				o.mu.Unlock()
				sort.Strings(got)
				if len(got) >= len(want) || time.Now().After(deadline) {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond) // nothing else may follow
			o.mu.Lock()
			n := 0
			for _, c := range o.published {
				if c.Purge != 0 {
					n++
				}
			}
			o.mu.Unlock()
			if fmt.Sprint(got) != fmt.Sprint(want) || n != len(want) {
				t.Fatalf("tag purge logged %v (%d), want %v", got, n, want)
			}
		})
	}
}

// TestTagPurgeCap: more than 1000 links behind the tags: 400, nothing logged.
func TestTagPurgeCap(t *testing.T) {
	o := newTestOrigin(t, backends[0])
	links := make([]map[string]any, 0, 1001)
	for i := 0; i < 1001; i++ {
		links = append(links, map[string]any{"url": "https://example.com/", "code": fmt.Sprintf("cap%04d", i), "tags": []string{"big"}})
	}
	for _, l := range links {
		expect(t, o.admin("POST", "/v1/links", l), 201, "")
	}
	expect(t, o.admin("POST", "/v1/purge", `{"tags":["big"]}`), 400, "too_many_links")
	expect(t, o.admin("POST", "/v1/purge", `{"tags":["big"],"keys":["link:other"]}`), 400, "too_many_links")
	time.Sleep(50 * time.Millisecond)
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range o.published {
		if c.Purge != 0 {
			t.Fatalf("a refused tag purge logged %+v", c)
		}
	}
}

// TestTagPurgeHookSendsTag: the purge hooks get a tag purge as the
// "tag:T" surrogate key (signed webhook, verified), with its kind.
func TestTagPurgeHookSendsTag(t *testing.T) {
	const secret = "tag-purge-hook-secret-0123"
	v := &purgehook.Verifier{Secret: []byte(secret)}
	got := make(chan purgehook.Payload, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		p, err := v.Verify(r.Header, b)
		if err != nil {
			t.Errorf("webhook refused: %v", err)
			w.WriteHeader(http.StatusForbidden)
			return
		}
		got <- p
	}))
	t.Cleanup(srv.Close)
	o := newTestOrigin(t, backends[0], func(c *origin.Config) {
		c.PurgeHooks = []string{srv.URL}
		c.PurgeHookSecret = []byte(secret)
	})
	expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "https://example.com/", "code": "hk1", "tags": []string{"promo"}}), 201, "")
	expect(t, o.admin("POST", "/v1/purge", `{"tags":["promo"],"soft":true}`), 202, "")
	deadline := time.After(10 * time.Second)
	for {
		select {
		case p := <-got:
			if slices.Contains(p.Keys, "tag:promo") {
				if !p.Soft || p.All {
					t.Fatalf("tag purge hooked as %+v, want soft", p)
				}
				return
			}
		case <-deadline:
			t.Fatal("the hook never got tag:promo")
		}
	}
}
