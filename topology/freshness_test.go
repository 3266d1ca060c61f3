package topology

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/shortstock/shortstock/edge"
	"github.com/shortstock/shortstock/gossip"
	"github.com/shortstock/shortstock/origin"
)

// freshBound is the staleness bound these tests hold every edge to: the
// edge's heads poll (2 s, edge.DefaultConfig), the slowest catch-up path
// while gossip works at all, plus 8 s for one origin fetch and scheduling
// on a loaded 2-core machine under -race (6.9 s was measured at a load
// average of 30). An edge still serving an old
// version this long after the write is a correctness failure; speed below
// it is measured and reported, never asserted.
const freshBound = 10 * time.Second

// cacheTTL is the cache TTL these tests give edges: far past freshBound,
// so an entry expiring cannot hide a broken invalidation or catch-up (with
// a TTL inside the bound, as before, an edge that never heard of a write
// still passed).
const cacheTTL = 10 * time.Minute

// safetyNet is the TTL and deadline of the purge, receipt and Varnish
// tests, which check what reaches caches in front of the edges, not the
// edges' own staleness bound.
const safetyNet = 10 * time.Second

var client = &http.Client{
	Timeout:       5 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     &http.Transport{MaxIdleConnsPerHost: 64},
}

func startTopology(t testing.TB, regions, edges int, mutate func(*Config)) *Topology {
	t.Helper()
	cfg := Config{
		Regions: regions, EdgesPerRegion: edges, DataDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Origin: func(_ string, c *origin.Config) {
			c.LinkCacheTTL, c.StockCacheTTL = cacheTTL, cacheTTL
		},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	topo, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := topo.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	waitPools(t, topo, edges+1)
	return topo
}

// waitPools waits until every region's pool has all its members.
func waitPools(t testing.TB, topo *Topology, members int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for _, r := range topo.Regions {
		for r.Origin.Gossip.NumMembers() < members {
			if time.Now().After(deadline) {
				t.Fatalf("region %s pool has %d of %d members", r.Name, r.Origin.Gossip.NumMembers(), members)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func admin(t testing.TB, topo *Topology, originURL, method, path, body string) {
	t.Helper()
	req, _ := http.NewRequest(method, originURL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+topo.AdminKey)
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
}

// edgeVersion reads path from an edge and returns the version it served.
func edgeVersion(edgeURL, path string) (uint64, error) {
	res, err := client.Get(edgeURL + path)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode >= 500 {
		return 0, fmt.Errorf("%s%s: %d", edgeURL, path, res.StatusCode)
	}
	return strconv.ParseUint(res.Header.Get("X-Version"), 10, 64)
}

// monotonic remembers the newest version each edge served for each path and
// fails the test if an edge ever serves an older one.
type monotonic struct {
	mu   sync.Mutex
	seen map[string]uint64
}

func (m *monotonic) observe(t testing.TB, edgeURL, path string, v uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := edgeURL + path
	if v < m.seen[k] {
		t.Errorf("%s served version %d of %s after serving %d: versions went backwards", edgeURL, v, path, m.seen[k])
	}
	m.seen[k] = max(m.seen[k], v)
}

// converge polls every edge for path until each serves version >= want and
// returns how long the slowest took. An edge still old after freshBound is
// a stale read past the bound: a failure.
func converge(t testing.TB, edges []string, path string, want uint64, start time.Time, mono *monotonic) time.Duration {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var worst time.Duration
	for _, e := range edges {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				v, err := edgeVersion(e, path)
				if err == nil {
					mono.observe(t, e, path, v)
					if v >= want {
						mu.Lock()
						worst = max(worst, time.Since(start))
						mu.Unlock()
						return
					}
				}
				if time.Since(start) > freshBound {
					t.Errorf("%s still serves version < %d of %s %v after the write (err %v): stale past the %v bound", e, want, path, time.Since(start), err, freshBound)
					return
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	return worst
}

func allEdges(topo *Topology) []string {
	var out []string
	for _, r := range topo.Regions {
		for _, e := range r.Edges {
			out = append(out, e.URL)
		}
	}
	return out
}

type delays []time.Duration

func (d delays) pct(p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// writeAndMeasure makes n writes (links and stock, spread over keys, at the
// origins of every region in turn) after warming every edge, and measures
// the delay until every edge serves each write's version.
func writeAndMeasure(t testing.TB, topo *Topology, n int) delays {
	edges := allEdges(topo)
	origin0 := topo.Regions[0].Origin.URL
	const nkeys = 20
	for i := 0; i < nkeys; i++ {
		admin(t, topo, origin0, "POST", "/v1/links", fmt.Sprintf(`{"url":"https://e.example/%d","code":"fresh%d"}`, i, i))
		admin(t, topo, origin0, "PUT", fmt.Sprintf("/v1/stock/FRESH-%d/w", i), `{"on_hand":1000}`)
	}
	mono := &monotonic{seen: map[string]uint64{}}
	version := map[string]uint64{}
	for i := 0; i < nkeys; i++ {
		for _, p := range []string{fmt.Sprintf("/fresh%d", i), fmt.Sprintf("/v1/stock/FRESH-%d", i)} {
			version[p] = 1
			converge(t, edges, p, 1, time.Now(), mono) // warm: every edge caches version 1
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var out delays
	for w := 0; w < n && !t.Failed(); w++ {
		k := rng.IntN(nkeys)
		at := topo.Regions[w%len(topo.Regions)].Origin.URL
		var path string
		start := time.Now()
		if w%2 == 0 {
			path = fmt.Sprintf("/fresh%d", k)
			admin(t, topo, at, "PATCH", "/v1/links"+path, fmt.Sprintf(`{"url":"https://e.example/%d/v%d"}`, k, w))
		} else {
			path = fmt.Sprintf("/v1/stock/FRESH-%d", k)
			admin(t, topo, at, "POST", path+"/w/adjust", `{"delta":1}`)
		}
		version[path]++
		out = append(out, converge(t, edges, path, version[path], start, mono))
	}
	return out
}

func report(t testing.TB, what string, d delays) {
	t.Logf("%s: %d writes, write -> every edge fresh: p50 %v p99 %v max %v", what, len(d), d.pct(0.5).Round(time.Millisecond), d.pct(0.99).Round(time.Millisecond), d.pct(1).Round(time.Millisecond))
}

func TestEveryEdgeOfEveryRegionGetsEveryWrite(t *testing.T) {
	topo := startTopology(t, 3, 3, nil)
	d := writeAndMeasure(t, topo, 200)
	report(t, "3 regions x 3 edges", d)
}

func TestFreshWithFivePercentGossipLoss(t *testing.T) {
	var mu sync.Mutex
	var fts []*gossip.FaultTransport
	topo := startTopology(t, 3, 3, func(c *Config) {
		c.Gossip = func(region, node string, g *gossip.Config) {
			g.WrapTransport = func(in memberlist.NodeAwareTransport) memberlist.NodeAwareTransport {
				ft := gossip.NewFaultTransport(in, uint64(len(node)*7919+len(region)))
				ft.SetLoss(0.05)
				mu.Lock()
				fts = append(fts, ft)
				mu.Unlock()
				return ft
			}
		}
	})
	d := writeAndMeasure(t, topo, 200)
	var dropped uint64
	mu.Lock()
	for _, ft := range fts {
		dropped += ft.Dropped()
	}
	mu.Unlock()
	if dropped == 0 {
		t.Fatal("the fault transport dropped nothing: the test did not test loss")
	}
	report(t, fmt.Sprintf("5%% loss (%d packets dropped)", dropped), d)
}

// An edge cut off from gossip for 5 s (in process: every packet to and from
// it dropped) catches up by itself once the partition heals, and no edge
// ever serves a version older than one it served before.
func TestEdgeCutOffFromGossipConverges(t *testing.T) {
	fts := map[string]*gossip.FaultTransport{}
	var mu sync.Mutex
	topo := startTopology(t, 1, 3, func(c *Config) {
		c.Gossip = func(_, node string, g *gossip.Config) {
			g.WrapTransport = func(in memberlist.NodeAwareTransport) memberlist.NodeAwareTransport {
				ft := gossip.NewFaultTransport(in, 7)
				mu.Lock()
				fts[node] = ft
				mu.Unlock()
				return ft
			}
		}
		c.Edge = func(_ string, _ int, e *edge.Config) { e.HeadsPollInterval = 0 } // gossip alone must repair it
	})
	r := topo.Regions[0]
	victim := r.Edges[0]
	var others []string
	for _, n := range append([]*EdgeNode{}, r.Edges[1:]...) {
		others = append(others, n.Gossip.LocalAddr())
	}
	others = append(others, r.Origin.Gossip.LocalAddr())
	origin0 := r.Origin.URL
	admin(t, topo, origin0, "POST", "/v1/links", `{"url":"https://e.example/0","code":"cut"}`)
	mono := &monotonic{seen: map[string]uint64{}}
	converge(t, allEdges(topo), "/cut", 1, time.Now(), mono)

	mu.Lock()
	fts[victim.Gossip.Name()].Partition(others...)
	for _, n := range r.Edges[1:] {
		fts[n.Gossip.Name()].Partition(victim.Gossip.LocalAddr())
	}
	fts["origin-"+r.Name].Partition(victim.Gossip.LocalAddr())
	mu.Unlock()
	for v := 2; v <= 6; v++ {
		admin(t, topo, origin0, "PATCH", "/v1/links/cut", fmt.Sprintf(`{"url":"https://e.example/%d"}`, v))
		converge(t, allEdges(topo)[1:], "/cut", uint64(v), time.Now(), mono)
		time.Sleep(time.Second)
	}
	if v, _ := edgeVersion(victim.URL, "/cut"); v != 1 {
		t.Logf("cut-off edge served version %d during the partition", v)
	}
	mu.Lock()
	for _, ft := range fts {
		ft.Heal()
	}
	mu.Unlock()
	healed := time.Now()
	took := converge(t, []string{victim.URL}, "/cut", 6, healed, mono)
	t.Logf("edge cut off for 5 s caught up %v after the partition healed", took.Round(time.Millisecond))
}
