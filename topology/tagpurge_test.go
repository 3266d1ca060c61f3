package topology

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// purgeStatus posts a purge and returns its status and error code.
func purgeStatus(t testing.TB, topo *Topology, originURL, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", originURL+"/v1/purge", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+topo.AdminKey)
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var e struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}
	_ = json.Unmarshal(b, &e)
	return res.StatusCode, e.Error + e.Code
}

// untilReceipt waits for a receipt to say complete for all n edges.
func untilReceipt(t *testing.T, topo *Topology, originURL, id string, n int) {
	t.Helper()
	deadline := time.Now().Add(safetyNet)
	for {
		rc := getReceipt(t, topo, originURL, id)
		if rc.Complete && len(rc.Edges) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("receipt %s never complete with %d edges: %+v", id, n, rc)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTagPurgeReachesEveryRegion: a purge by tag, posted to either
// region's origin, invalidates exactly the cached entries of the links
// carrying the tag at every edge of both regions (hard: MISS next; soft:
// served stale while revalidating), leaves every other link cached, and
// its receipt completes. Bad tags and too many tags are refused.
func TestTagPurgeReachesEveryRegion(t *testing.T) {
	topo := startTopology(t, 2, 2, nil)
	o := topo.Regions[0].Origin.URL
	edges := allEdges(topo)
	tags := []string{`["promo"]`, `["promo","x"]`, `["x"]`, `[]`}
	paths := make([]string, len(tags))
	for i, tg := range tags {
		admin(t, topo, o, "POST", "/v1/links", fmt.Sprintf(`{"url":"https://t.example/%d","code":"tg%d","tags":%s}`, i, i, tg))
		paths[i] = fmt.Sprintf("/tg%d", i)
	}
	warm := func() {
		t.Helper()
		for _, p := range paths {
			untilState(t, edges, p, "HIT")
		}
	}
	// untouched checks that the paths not in purged are still HITs everywhere.
	untouched := func(purged ...int) {
		t.Helper()
		for i, p := range paths {
			if slices.Contains(purged, i) {
				continue
			}
			for _, e := range edges {
				if st := xcache(t, e, p); st != "HIT" {
					t.Fatalf("%s: %s, not tagged, answered %s after the tag purge", e, p, st)
				}
			}
		}
	}
	warm()

	id := purge(t, topo, o, `{"tags":["promo"]}`)
	untilState(t, edges, "/tg0", "MISS")
	untilState(t, edges, "/tg1", "MISS")
	untouched(0, 1)
	untilReceipt(t, topo, o, id, len(edges))
	untilReceipt(t, topo, topo.Regions[1].Origin.URL, id, len(edges))

	warm()
	id = purge(t, topo, topo.Regions[1].Origin.URL, `{"tags":["x"],"soft":true}`)
	untilState(t, edges, "/tg1", "STALE-REVALIDATING")
	untilState(t, edges, "/tg2", "STALE-REVALIDATING")
	untouched(1, 2)
	untilReceipt(t, topo, topo.Regions[1].Origin.URL, id, len(edges))

	// A tag no link carries: nothing logged, and a receipt that says so
	// at the origin that took it.
	id = purge(t, topo, o, `{"tags":["nobody"]}`)
	if rc := getReceipt(t, topo, o, id); !rc.Complete {
		t.Fatalf("a tag purge that matched nothing: %+v, want complete", rc)
	}

	for _, c := range []struct{ body, code string }{
		{`{"tags":["bad tag"]}`, "invalid_tag"},
		{`{"tags":["` + strings.Repeat("t", 33) + `"]}`, "invalid_tag"},
		{`{"tags":["ok","tag:x"]}`, "invalid_tag"},
		{`{"tags":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q"]}`, "invalid_purge"},
	} {
		if st, code := purgeStatus(t, topo, o, c.body); st != 400 || code != c.code {
			t.Errorf("purge %s: %d %q, want 400 %q", c.body, st, code, c.code)
		}
	}
}
