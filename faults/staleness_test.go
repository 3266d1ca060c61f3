package faults

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/testutil"
	"github.com/shortstock/shortstock/origin"
	"github.com/shortstock/shortstock/topology"
)

// TestStalenessUnderFaults writes continuously while one in-process edge is
// cut off from gossip (longer than the staleness bound) and an edge process
// joined to the same pool is kill -9ed and restarted. Readers poll every
// edge throughout, including a code cached as a 404 that is created during
// the cut. It reports answers older than a write acknowledged more than the
// bound earlier and answers older than one the same edge served before.
// Both must be 0: a partitioned edge still has its heads poll, and a
// restarted one starts empty. The bound comes from the catch-up it tests:
// the edge's heads poll (2 s, its default) plus 3 s for one origin fetch
// and scheduling on a loaded machine. The cache TTL is a minute, far past
// the bound, so expiring entries cannot hide a broken catch-up (with a TTL
// inside the bound, an edge that never caught up would still pass).
func TestStalenessUnderFaults(t *testing.T) {
	const headsPoll = 2 * time.Second // edge.DefaultConfig, --heads-poll
	ttl := time.Minute
	bound := headsPoll + 3*time.Second
	// Longer than the bound, so a cut edge whose catch-up is broken is
	// stale past it before the cut heals.
	cutFor := pick(bound+2*time.Second, 12*time.Second)
	topo := startFaulty(t, topology.Config{
		Regions: 1, EdgesPerRegion: 3, RegionNames: []string{"stale"},
		Origin: func(_ string, c *origin.Config) { c.LinkCacheTTL, c.StockCacheTTL = ttl, ttl },
	})
	r := topo.Regions[0]
	api := newAdmin(t, r.Origin.URL, 5*time.Second)

	// The edge process: same pool, same key, same region.
	procAddr, procGossip := testutil.FreeAddr(t), testutil.FreeGossipAddr(t)
	env := append(commonEnv(), "SHORTSTOCK_GOSSIP_KEY="+topology.GossipKeyBase64(gossipKey))
	args := []string{"edge", "--region", "stale", "--listen", procAddr, "--origin", r.Origin.URL,
		"--gossip-bind", procGossip, "--join", r.Origin.Gossip.LocalAddr(), "--node-name", "edge-proc"}
	edgeProc := startProc(t, "edge-proc", env, args...)
	waitHTTP(t, "http://"+procAddr+"/_/readyz", 20*time.Second, edgeProc)
	waitMembers(t, r.Origin.Gossip, len(r.Edges)+2, 10*time.Second)

	edges := []string{r.Edges[0].URL, r.Edges[1].URL, r.Edges[2].URL, "http://" + procAddr}
	a := newAcks()
	var paths []string
	for i := range 6 {
		p := fmt.Sprintf("/stale%d", i)
		ans := api.must(t, "POST", "/v1/links", fmt.Sprintf(`{"url":"https://e.example/%d","code":"stale%d"}`, i, i))
		a.add(p, ans.version(), time.Now())
		paths = append(paths, p)
	}
	for i := range 3 {
		p := fmt.Sprintf("/v1/stock/STALE-%d", i)
		ans := api.must(t, "PUT", fmt.Sprintf("/v1/stock/STALE-%d/w", i), `{"on_hand":1000}`)
		a.add(p, ans.version(), time.Now())
		paths = append(paths, p)
	}

	// A code every edge has cached as a 404 (versioned, guarantee 5) and
	// that is created during the cut: the 404 is as stale as any old value
	// once the create is acknowledged.
	const negative = "/stale-new"
	read := append([]string{negative}, paths...)

	f := newFigures("staleness")
	defer f.report(t)
	var (
		mu     sync.Mutex
		obs    []observed
		failed [4]int // per edge: the process is killed and paused on purpose, the others never are
		// Answers from the in-process edges that are neither served nor
		// the expected 404, and the first of them: an edge fault. A
		// transport error (a client timeout on a loaded machine) is not.
		badLive  int
		firstBad string
	)
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for ei, e := range edges {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				for _, p := range read {
					select {
					case <-stop:
						return
					default:
					}
					start := time.Now()
					rd := readEdge(e, p)
					mu.Lock()
					if rd.served() || rd.err == nil && rd.status == http.StatusNotFound && p == negative {
						obs = append(obs, observed{ei, p, start, rd.version})
					} else {
						failed[ei]++
						if ei < 3 && rd.err == nil {
							badLive++
							if firstBad == "" {
								firstBad = e + p + ": " + rd.String()
							}
						}
					}
					mu.Unlock()
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}

	// One writer, round-robin over the keys, a write every 50 ms.
	writes := 0
	writeFor := func(d time.Duration) {
		end := time.Now().Add(d)
		for time.Now().Before(end) {
			p := paths[writes%len(paths)]
			var ans answer
			if p[1] == 'v' {
				ans = api.must(t, "POST", p+"/w/adjust", `{"delta":1}`)
			} else {
				ans = api.must(t, "PATCH", "/v1/links"+p, fmt.Sprintf(`{"url":"https://e.example/w%d"}`, writes))
			}
			a.add(p, ans.version(), time.Now())
			writes++
			time.Sleep(50 * time.Millisecond)
		}
	}

	writeFor(time.Second)
	// Cut edge 0 off from gossip, both ways, for longer than the bound.
	victim := r.Edges[0]
	others := map[string]string{r.Origin.Gossip.Name(): r.Origin.Gossip.LocalAddr(), "edge-proc": procGossip}
	for _, e := range r.Edges[1:] {
		others[e.Gossip.Name()] = e.Gossip.LocalAddr()
	}
	topo.cut(victim.Gossip.Name(), victim.Gossip.LocalAddr(), others)
	cutAt := time.Now()
	writeFor(500 * time.Millisecond)
	created := api.must(t, "POST", "/v1/links", `{"url":"https://e.example/new","code":"stale-new"}`)
	a.add(negative, created.version(), time.Now())
	writeFor(500 * time.Millisecond)
	// kill -9 the edge process and bring it back on the same ports while
	// the cut lasts.
	kills := 0
	for range pick(1, 3) {
		edgeProc.kill()
		kills++
		writeFor(500 * time.Millisecond)
		edgeProc = startProc(t, "edge-proc", env, args...)
		waitHTTP(t, "http://"+procAddr+"/_/healthz", 20*time.Second, edgeProc)
		writeFor(time.Second)
	}
	writeFor(time.Until(cutAt.Add(cutFor)))
	topo.healAll()
	writeFor(time.Second)
	if long() {
		// The pause: SIGSTOP the edge process for 5 s of writes.
		if err := edgeProc.stop(); err != nil {
			t.Fatal(err)
		}
		writeFor(5 * time.Second)
		if err := edgeProc.cont(); err != nil {
			t.Fatal(err)
		}
		writeFor(time.Second)
	}
	// Keep reading past the bound after the last write, so every edge is
	// held to it.
	time.Sleep(bound + 500*time.Millisecond)
	close(stop)
	readers.Wait()

	mu.Lock()
	res := judge(obs, a, bound)
	mu.Unlock()
	converged := 0
	for _, e := range edges {
		for _, p := range read {
			if rd := readEdge(e, p); rd.served() && rd.version == a.last(p) {
				converged++
			}
		}
	}
	f.zero("stale_after_bound", int64(res.staleAfter))
	f.zero("version_regressions", int64(res.regressions))
	f.zero("not_converged", int64(len(edges)*len(read)-converged))
	f.count("writes", writes)
	f.count("reads", res.reads)
	// The in-process edges are never down: even the cut one reaches its
	// origin, so any wrong answer there is a fault of the edge (a client
	// timeout is the machine's, counted apart). The process was killed,
	// so some of its reads must have failed, or the kill did not happen
	// while it was read.
	f.zero("bad_answers_live_edges", int64(badLive))
	f.count("failed_reads_live_edges", failed[0]+failed[1]+failed[2])
	f.count("failed_reads_edge_proc", failed[3])
	if badLive > 0 {
		t.Logf("staleness: first bad answer of a live edge: %s", firstBad)
	}
	if failed[3] == 0 {
		t.Errorf("staleness: no read of the edge process failed though it was killed %d times", kills)
	}
	f.count("stale_reads_within_bound", res.staleReads)
	f.dur("p99_stale", res.p99Stale)
	f.dur("max_stale", res.maxStale)
	f.dur("max_stale_cut_edge", res.maxByEdge[0])
	f.dur("max_stale_edge_proc", res.maxByEdge[3])
	f.dur("max_stale_other_edges", max(res.maxByEdge[1], res.maxByEdge[2]))
	f.dur("bound", bound)
	f.dur("gossip_cut", cutFor)
	f.count("edge_kills", kills)
	dropped := topo.fault(victim.Gossip.Name()).Dropped()
	f.count("partition_dropped", dropped)
	if dropped == 0 {
		t.Errorf("staleness: the gossip cut dropped no packet: the cut edge was never cut off")
	}
}
