package topology

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/shortstock/shortstock/edge"
	"github.com/shortstock/shortstock/gossip"
	"github.com/shortstock/shortstock/origin"
)

type receipt struct {
	ID          string     `json:"id"`
	Complete    bool       `json:"complete"`
	Pending     []string   `json:"pending"`
	CommittedAt *time.Time `json:"committed_at"`
	Edges       []struct {
		Region    string     `json:"region"`
		Edge      string     `json:"edge"`
		AppliedAt *time.Time `json:"applied_at"`
		State     string     `json:"state"`
	} `json:"edges"`
}

// write makes an admin write and returns its X-Change-Id.
func write(t testing.TB, topo *Topology, originURL, method, path, body string) string {
	t.Helper()
	req, _ := http.NewRequest(method, originURL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+topo.AdminKey)
	res, err := client.Do(req)
	if err != nil {
		t.Error(err)
		return ""
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode >= 300 {
		t.Errorf("%s %s: %d %s", method, path, res.StatusCode, b)
		return ""
	}
	id := res.Header.Get("X-Change-Id")
	if id == "" {
		t.Errorf("%s %s answered no X-Change-Id", method, path)
	}
	return id
}

func getReceipt(t testing.TB, topo *Topology, originURL, id string) receipt {
	t.Helper()
	req, _ := http.NewRequest("GET", originURL+"/v1/changes/"+url.PathEscape(id), nil)
	req.Header.Set("Authorization", "Bearer "+topo.AdminKey)
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r receipt
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("GET /v1/changes/%s: %d %s", id, res.StatusCode, b)
	}
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestReceipts: 1000 writes, every receipt complete (every edge applied,
// with a time) within the safety net; then an edge cut off from gossip
// holds a receipt back and is named, and an edge that is down stops
// holding receipts back and is "unknown".
func TestReceipts(t *testing.T) {
	fts := map[string]*gossip.FaultTransport{}
	var mu sync.Mutex
	topo := startTopology(t, 1, 3, func(c *Config) {
		c.Gossip = func(_, node string, g *gossip.Config) {
			g.WrapTransport = func(in memberlist.NodeAwareTransport) memberlist.NodeAwareTransport {
				ft := gossip.NewFaultTransport(in, 11)
				mu.Lock()
				fts[node] = ft
				mu.Unlock()
				return ft
			}
		}
		c.Origin = func(_ string, o *origin.Config) {
			o.LinkCacheTTL, o.StockCacheTTL = safetyNet, safetyNet
		}
		// Gossip alone keeps the edges current, so a cut-off edge stays
		// behind until the cut heals.
		c.Edge = func(_ string, _ int, e *edge.Config) { e.HeadsPollInterval = 0 }
	})
	r := topo.Regions[0]
	o := r.Origin.URL
	const nkeys = 50
	for i := range nkeys {
		write(t, topo, o, "POST", "/v1/links", fmt.Sprintf(`{"url":"https://r.example/%d","code":"rc%d"}`, i, i))
	}

	// 1000 writes from 8 writers.
	const n = 1000
	ids := make([]string, n)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				if i%5 == 0 {
					ids[i] = write(t, topo, o, "PUT", fmt.Sprintf("/v1/stock/RC-%d/w", i%nkeys), fmt.Sprintf(`{"on_hand":%d}`, i))
				} else {
					ids[i] = write(t, topo, o, "PATCH", fmt.Sprintf("/v1/links/rc%d", i%nkeys), fmt.Sprintf(`{"url":"https://r.example/%d"}`, i))
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	lastWrite := time.Now()
	var lags delays
	for _, id := range ids {
		var rc receipt
		deadline := time.Now().Add(safetyNet)
		for {
			rc = getReceipt(t, topo, o, id)
			if rc.Complete {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("receipt of %s still incomplete %v after the last write: pending %v", id, time.Since(lastWrite), rc.Pending)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if len(rc.Edges) != 3 || rc.CommittedAt == nil {
			t.Fatalf("receipt %+v: want 3 edges and a commit time", rc)
		}
		for _, e := range rc.Edges {
			if e.State != "applied" || e.AppliedAt == nil {
				t.Fatalf("complete receipt of %s: edge %s/%s %s at %v", id, e.Region, e.Edge, e.State, e.AppliedAt)
			}
			lags = append(lags, e.AppliedAt.Sub(*rc.CommittedAt))
		}
	}
	t.Logf("%d writes: every receipt complete; commit -> applied as the origin learnt it (report interval included): p50 %v p99 %v max %v",
		n, lags.pct(0.5).Round(time.Millisecond), lags.pct(0.99).Round(time.Millisecond), lags.pct(1).Round(time.Millisecond))

	// Cut edge 1 off from gossip: its receipts stay incomplete, naming it.
	victim := r.Edges[0]
	var others []string
	for _, e := range r.Edges[1:] {
		others = append(others, e.Gossip.LocalAddr())
	}
	others = append(others, r.Origin.Gossip.LocalAddr())
	mu.Lock()
	fts[victim.Gossip.Name()].Partition(others...)
	for _, e := range r.Edges[1:] {
		fts[e.Gossip.Name()].Partition(victim.Gossip.LocalAddr())
	}
	fts["origin-"+r.Name].Partition(victim.Gossip.LocalAddr())
	mu.Unlock()
	id := write(t, topo, o, "PATCH", "/v1/links/rc1", `{"url":"https://r.example/cut"}`)
	want := r.Name + "/" + victim.Gossip.Name()
	deadline := time.Now().Add(safetyNet)
	for {
		rc := getReceipt(t, topo, o, id)
		if rc.Complete {
			t.Fatalf("receipt complete while %s is cut off from gossip: %+v", want, rc)
		}
		if len(rc.Pending) == 1 && rc.Pending[0] == want {
			break // the others applied it; the victim is named
		}
		if time.Now().After(deadline) {
			t.Fatalf("receipt pending %v, want exactly [%s]", rc.Pending, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Still incomplete a while later: nothing else lets it through.
	time.Sleep(500 * time.Millisecond)
	if rc := getReceipt(t, topo, o, id); rc.Complete || len(rc.Pending) != 1 || rc.Pending[0] != want {
		t.Fatalf("receipt during the cut: complete %v pending %v", rc.Complete, rc.Pending)
	}

	// An edge that is down holds nothing back: "unknown".
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := victim.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(safetyNet)
	for {
		rc := getReceipt(t, topo, o, id)
		if rc.Complete {
			for _, e := range rc.Edges {
				if e.Region+"/"+e.Edge == want && e.State != "unknown" {
					t.Fatalf("edge down: state %q, want unknown", e.State)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("receipt still incomplete with the cut-off edge down: %+v", rc)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
