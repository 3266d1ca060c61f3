package origin_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/wire"
	"github.com/shortstock/shortstock/origin"
)

// TestTopologyAPI: GET /v1/topology needs a key, lists the answering
// origin's region first with its last change and every edge that reported
// (live or down, lag behind the origin's read position), then each peer's
// region as that peer sees it, or the peer as unreachable.
func TestTopologyAPI(t *testing.T) {
	peer := newTestOrigin(t, backends[0], func(c *origin.Config) { c.Region = "eu-west" })
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close() // a peer that does not answer
	o := newTestOrigin(t, backends[0], withScopedKeys, func(c *origin.Config) {
		c.Region = "us-east"
		c.PeerOrigins = []string{peer.url, dead.URL}
	})
	// Any key reads it, whatever its scopes (the console signs in with it).
	for _, k := range []string{readKey, linksKey, stockKey} {
		expect(t, o.do("GET", "/v1/topology", k, nil), 200, "")
	}
	expect(t, o.do("GET", "/v1/topology", "", nil), 401, "")
	expect(t, o.do("GET", "/v1/topology", "wrong-key-0123456789abc", nil), 401, "")
	expect(t, o.admin("GET", "/v1/topology?x=1", nil), 400, "invalid_query")
	expect(t, o.admin("POST", "/v1/topology", nil), 405, "method_not_allowed")

	o.admin("POST", "/v1/links", map[string]any{"url": "https://example.com/", "code": "topo1"})
	o.admin("PATCH", "/v1/links/topo1", map[string]any{"url": "https://example.com/2"})
	p := keys.DefaultSpace().PartitionOfKey("l:topo1")
	report := func(to *testOrigin, region, edge string, seq uint64) {
		t.Helper()
		r := to.do("POST", wire.PathApplied, "", wire.Applied{Region: region, Edge: edge, Partitions: []wire.AppliedUpTo{{P: p, Seq: seq}}})
		if r.status != http.StatusNoContent {
			t.Fatalf("applied report: %d %s", r.status, r.body)
		}
	}
	// The tailer reads both changes: the origin's last change is @2.
	var top map[string]any
	deadline := time.Now().Add(5 * time.Second)
	for {
		top = expect(t, o.admin("GET", "/v1/topology", nil), 200, "")
		self := top["regions"].([]any)[0].(map[string]any)
		if lc, _ := self["origin"].(map[string]any)["last_change"].(map[string]any); lc != nil && lc["id"] == "l:topo1@2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("last change never l:topo1@2: %v", top)
		}
		time.Sleep(5 * time.Millisecond)
	}
	report(o, "us-east", "edge-a", 1) // one change behind
	report(o, "us-east", "edge-b", 2) // caught up
	report(peer, "eu-west", "edge-eu", 2)
	o.clock.Advance(2 * time.Second)
	report(o, "us-east", "edge-b", 2) // edge-a falls silent past the live window below
	o.clock.Advance(2 * time.Second)
	report(o, "us-east", "edge-b", 2)

	top = expect(t, o.admin("GET", "/v1/topology", nil), 200, "")
	if top["region"] != "us-east" || top["generated_at"] == nil {
		t.Fatalf("topology %v", top)
	}
	regions := top["regions"].([]any)
	if len(regions) != 3 {
		t.Fatalf("regions %v, want self, the peer and the dead peer", regions)
	}
	self := regions[0].(map[string]any)
	if self["name"] != "us-east" || self["self"] != true || self["origin"].(map[string]any)["state"] != "up" {
		t.Fatalf("self region %v", self)
	}
	edges := self["edges"].([]any)
	if len(edges) != 2 {
		t.Fatalf("edges %v", edges)
	}
	a, b := edges[0].(map[string]any), edges[1].(map[string]any)
	if a["edge"] != "edge-a" || a["state"] != "down" || a["lag"] != 1.0 || a["applied"] != 1.0 {
		t.Fatalf("edge-a %v, want down, lag 1", a)
	}
	if b["edge"] != "edge-b" || b["state"] != "live" || b["lag"] != 0.0 || b["last_applied_at"] == nil {
		t.Fatalf("edge-b %v, want live, lag 0", b)
	}
	byName := map[string]map[string]any{}
	for _, r := range regions[1:] {
		m := r.(map[string]any)
		byName[m["name"].(string)] = m
	}
	eu := byName["eu-west"]
	if eu == nil || eu["peer"] != peer.url || eu["self"] != false || eu["origin"].(map[string]any)["state"] != "up" {
		t.Fatalf("peer region %v", byName)
	}
	if es := eu["edges"].([]any); len(es) != 1 || es[0].(map[string]any)["edge"] != "edge-eu" {
		t.Fatalf("peer edges %v", es)
	}
	gone := byName[dead.URL]
	if gone == nil || gone["origin"].(map[string]any)["state"] != "unreachable" {
		t.Fatalf("dead peer %v", byName)
	}
	// Only the cluster token (here: loopback) may ask for a region's view.
	r := o.do("GET", wire.PathTopology, "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("internal topology from loopback: %d", r.status)
	}
}
