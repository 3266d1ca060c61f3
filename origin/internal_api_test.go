package origin_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/wire"
	"github.com/shortstock/shortstock/origin"
)

// The internal API answers only requests carrying an accepted cluster
// token, from loopback too (the origin trusts no address), and during a
// rotation both the old and the new token.
func TestInternalAPINeedsClusterToken(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		token := wire.ClusterToken([]byte("cluster-secret"))
		next := wire.ClusterToken([]byte("cluster-secret-next"))
		o := newTestOrigin(t, b, func(c *origin.Config) {
			c.ClusterToken, c.ClusterTokens, c.InternalInsecure = token, []string{next}, false
		})
		for _, key := range []string{"", testKey, "nope", token[:len(token)-1], wire.ClusterToken([]byte("other"))} {
			expect(t, o.do("GET", "/internal/v1/heads", key, nil), 401, "unauthorized")
			expect(t, o.do("GET", "/internal/v1/links/abc", key, nil), 401, "unauthorized")
			expect(t, o.do("POST", "/internal/v1/clicks", key, `{"counts":{"a":1}}`), 401, "unauthorized")
		}
		expect(t, o.do("GET", "/internal/v1/heads", token, nil), 200, "")
		expect(t, o.do("GET", "/internal/v1/heads", next, nil), 200, "")
		// The admin key does not open the internal API, nor the token the admin API.
		expect(t, o.do("GET", "/v1/links/abc", token, nil), 401, "unauthorized")
	})
}

func TestInternalFetchCarriesVersionAndTTL(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b)
		// Without a token the internal API serves loopback clients (this test).
		r := o.do("GET", "/internal/v1/links/ghost", "", nil)
		var miss wire.Missing
		if r.status != 404 || json.Unmarshal(r.body, &miss) != nil || miss.Version != 0 || r.header.Get(wire.HeaderVersion) != "0" {
			t.Fatalf("unknown code: %d %s %v", r.status, r.body, r.header)
		}
		exp := o.clock.Now().Add(30 * time.Second)
		expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "https://e.example/x", "code": "ghost", "redirect": 307, "expires_at": exp.Format(time.RFC3339)}), 201, "")
		r = o.do("GET", "/internal/v1/links/ghost", "", nil)
		var rec wire.LinkRecord
		if r.status != 200 || json.Unmarshal(r.body, &rec) != nil {
			t.Fatalf("fetch: %d %s", r.status, r.body)
		}
		if rec.Version != 1 || rec.URL != "https://e.example/x" || rec.Redirect != 307 || r.header.Get(wire.HeaderTTL) != "30000" {
			t.Fatalf("record %+v ttl %s: the TTL must stop at expires_at", rec, r.header.Get(wire.HeaderTTL))
		}
		expect(t, o.admin("DELETE", "/v1/links/ghost", nil), 204, "")
		r = o.do("GET", "/internal/v1/links/ghost", "", nil)
		if r.status != 404 || r.header.Get(wire.HeaderVersion) != "2" {
			t.Fatalf("deleted link must 404 with the tombstone version: %d %v", r.status, r.header)
		}

		expect(t, o.admin("PUT", "/v1/stock/S1/w", map[string]any{"on_hand": 4}), 200, "")
		admin := o.admin("GET", "/v1/stock/S1", nil)
		internal := o.do("GET", "/internal/v1/stock/S1", "", nil)
		if internal.status != 200 || string(internal.body) != string(admin.body) || internal.header.Get(wire.HeaderVersion) != "1" {
			t.Fatalf("internal stock view must equal the admin one:\n%s\n%s", internal.body, admin.body)
		}
		expect(t, o.do("GET", "/internal/v1/stock/bad%20sku", "", nil), 400, "invalid_sku")
	})
}

func TestClicksReachStats(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b)
		expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "https://e.example", "code": "clicky"}), 201, "")
		r := o.do("POST", "/internal/v1/clicks", "", `{"counts":{"clicky":5,"unknown":3,"bad/code":1,"neg":-4}}`)
		if r.status != 204 {
			t.Fatalf("clicks: %d %s", r.status, r.body)
		}
		o.do("POST", "/internal/v1/clicks", "", `{"counts":{"clicky":2}}`)
		m := expect(t, o.admin("GET", "/v1/links/clicky/stats", nil), 200, "")
		if m["clicks"] != 7.0 || m["version"] != 1.0 {
			t.Fatalf("stats %v: want 7 clicks and an unchanged version", m)
		}
		expect(t, o.do("POST", "/internal/v1/clicks", "", `{"counts":`), 400, "invalid_json")
	})
}

func TestChangesFeedTailerAndEndpoint(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b)
		o.waitTailer()
		expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "https://e.example", "code": "c1"}), 201, "")
		expect(t, o.admin("PATCH", "/v1/links/c1", map[string]any{"redirect": 301}), 200, "")
		expect(t, o.admin("PUT", "/v1/stock/K/w", map[string]any{"on_hand": 1}), 200, "")
		want := []change.Change{
			{Key: "l:c1", Version: 1}, {Key: "l:c1", Version: 2}, {Key: "s:K", Version: 1},
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			o.mu.Lock()
			n := len(o.published)
			o.mu.Unlock()
			if n >= len(want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("tailer published %d of %d changes", n, len(want))
			}
			time.Sleep(5 * time.Millisecond)
		}
		o.mu.Lock()
		got := append([]change.Change(nil), o.published...)
		o.mu.Unlock()
		if len(got) != len(want) {
			t.Fatalf("published %d changes, want %d: %+v", len(got), len(want), got)
		}
		// Per key, order and versions are those of the writes.
		var c1 []uint64
		for _, c := range got {
			if c.Partition != keys.DefaultSpace().PartitionOfKey(c.Key) || c.Seq == 0 {
				t.Fatalf("bad change %+v", c)
			}
			if c.Key == "l:c1" {
				c1 = append(c1, c.Version)
			}
		}
		if len(c1) != 2 || c1[0] != 1 || c1[1] != 2 {
			t.Fatalf("link versions published %v, want [1 2]", c1)
		}
		heads := o.srv.Heads()
		p := keys.DefaultSpace().PartitionOfKey("l:c1")
		r := o.do("GET", "/internal/v1/changes?partition="+itoa(p)+"&after=0", "", nil)
		var page change.Page
		if r.status != 200 || json.Unmarshal(r.body, &page) != nil {
			t.Fatalf("changes: %d %s", r.status, r.body)
		}
		if page.Head != heads[p] || len(page.Changes) == 0 || page.Changes[len(page.Changes)-1].Seq != page.Head {
			t.Fatalf("page %+v does not end at head %d", page, heads[p])
		}
		expect(t, o.do("GET", "/internal/v1/changes?partition=1024&after=0", "", nil), 400, "invalid_partition")
		expect(t, o.do("GET", "/internal/v1/changes?partition=1&after=x", "", nil), 400, "invalid_after")
		expect(t, o.do("GET", "/internal/v1/changes?partition=1&after=0&limit=0", "", nil), 400, "invalid_limit")
	})
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
