package topology

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// purge posts a purge and returns its change id.
func purge(t testing.TB, topo *Topology, originURL, body string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", originURL+"/v1/purge", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+topo.AdminKey)
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var out struct {
		ChangeID string `json:"change_id"`
	}
	if res.StatusCode != 202 || json.Unmarshal(b, &out) != nil || out.ChangeID == "" {
		t.Fatalf("POST /v1/purge %s: %d %s", body, res.StatusCode, b)
	}
	return out.ChangeID
}

func xcache(t testing.TB, edgeURL, path string) string {
	t.Helper()
	res, err := client.Get(edgeURL + path)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.Header.Get("X-Cache")
}

// untilState polls every edge for path until it answers with X-Cache
// want once (the purge landed there), within the safety net.
func untilState(t *testing.T, edges []string, path, want string) {
	t.Helper()
	for _, e := range edges {
		deadline := time.Now().Add(safetyNet)
		for xcache(t, e, path) != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s never answered %s for %s after the purge", e, want, path)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// TestPurgeReachesEveryRegion: a purge posted to one region's origin is
// logged like a write and reaches every edge of every region: hard drops
// the entry (next answer MISS), soft marks it stale (next answer
// STALE-REVALIDATING), all does it to every key; the receipt completes.
func TestPurgeReachesEveryRegion(t *testing.T) {
	topo := startTopology(t, 2, 2, nil)
	o := topo.Regions[0].Origin.URL
	edges := allEdges(topo)
	for i := range 2 {
		admin(t, topo, o, "POST", "/v1/links", fmt.Sprintf(`{"url":"https://p.example/%d","code":"pg%d"}`, i, i))
	}
	warm := func() {
		t.Helper()
		for _, p := range []string{"/pg0", "/pg1"} {
			untilState(t, edges, p, "HIT")
		}
	}
	warm()

	id := purge(t, topo, o, `{"keys":["link:pg0"]}`)
	untilState(t, edges, "/pg0", "MISS")
	for _, e := range edges {
		if st := xcache(t, e, "/pg1"); st != "HIT" {
			t.Fatalf("%s: an unpurged key answered %s", e, st)
		}
	}
	// Asked at either region, the receipt lists every region's edges (the
	// origins ask each other).
	deadline := time.Now().Add(safetyNet)
	for {
		rc := getReceipt(t, topo, o, id)
		rc1 := getReceipt(t, topo, topo.Regions[1].Origin.URL, id)
		if rc.Complete && len(rc.Edges) == 4 && rc.CommittedAt != nil && rc1.Complete && len(rc1.Edges) == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("purge receipt never complete with 4 edges: at region 0 %+v; at region 1 %+v", rc, rc1)
		}
		time.Sleep(10 * time.Millisecond)
	}

	warm()
	purge(t, topo, topo.Regions[1].Origin.URL, `{"keys":["link:pg1"],"soft":true}`)
	untilState(t, edges, "/pg1", "STALE-REVALIDATING")

	warm()
	purge(t, topo, o, `{"all":true}`)
	untilState(t, edges, "/pg0", "MISS")
	untilState(t, edges, "/pg1", "MISS")
}
