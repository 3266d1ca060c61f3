package faults

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/shortstock/shortstock/edge"
	"github.com/shortstock/shortstock/gossip"
	"github.com/shortstock/shortstock/internal/testutil"
	"github.com/shortstock/shortstock/internal/wire"
	"github.com/shortstock/shortstock/topology"
)

// outageEdges starts n in-process edges (default config: 1 s origin
// timeout, 5 min stale grace) in the origin process's gossip pool.
func outageEdges(t *testing.T, n int, region, originURL, originGossip string) []*topology.EdgeNode {
	t.Helper()
	var out []*topology.EdgeNode
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for i := range n {
		ec := edge.DefaultConfig()
		ec.Region, ec.NodeName, ec.Origins = region, fmt.Sprintf("edge-%d", i), []string{originURL}
		ec.ClusterToken = wire.ClusterToken([]byte(clusterSecret))
		gc := gossip.DefaultLocalConfig(ec.NodeName)
		gc.Region, gc.SecretKeys, gc.Join = region, [][]byte{gossipKey}, []string{originGossip}
		en, err := topology.StartEdge(topology.EdgeOptions{Edge: ec, Listen: "127.0.0.1:0", Gossip: &gc, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = en.Server.Close(); _ = en.Gossip.Shutdown() })
		out = append(out, en)
	}
	return out
}

// outageLoad is what reads through the edges saw during one outage phase.
type outageLoad struct {
	cachedFail, stale, hit int
	cachedSlow             int // cached reads that took 500 ms or more
	cachedMax              time.Duration
	uncached, uncachedBad  int // uncached reads, and those not answered 503
	uncachedSlow           int // uncached 503s slower than the limit
	uncachedMax            time.Duration
	examples               []string
}

// load reads every cached key through every edge, and one key no edge has
// ever seen (a new one each time, so every read is a real origin attempt),
// until d has passed.
func load(edges []string, cached []string, d, slowAfter time.Duration, fresh func() string) outageLoad {
	var l outageLoad
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		for _, e := range edges {
			for _, p := range cached {
				rd := readEdge(e, p)
				l.cachedMax = max(l.cachedMax, rd.took)
				if rd.took >= 500*time.Millisecond {
					l.cachedSlow++
				}
				switch {
				case !rd.served():
					l.cachedFail++
					if len(l.examples) < 3 {
						l.examples = append(l.examples, fmt.Sprintf("cached %s%s: %v", e, p, rd))
					}
				case rd.cache == "STALE":
					l.stale++
				default:
					l.hit++
				}
			}
			rd := readEdge(e, fresh())
			l.uncached++
			l.uncachedMax = max(l.uncachedMax, rd.took)
			if rd.err != nil || rd.status != http.StatusServiceUnavailable {
				l.uncachedBad++
				if len(l.examples) < 6 {
					l.examples = append(l.examples, fmt.Sprintf("uncached %s: %v", e, rd))
				}
			} else if rd.took >= slowAfter {
				l.uncachedSlow++
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return l
}

// TestOriginOutage kills the origin process (kill -9) behind two edges for
// 5 s (30 s in long mode), after freezing it (SIGSTOP) for 2 s. Cached
// keys must keep being served (STALE past their 1 s TTL), keys no edge has
// cached must get 503 in under 1 s while the origin is dead (under the
// edge's 1 s origin timeout plus slack while it hangs), and after a restart
// the edges must serve fresh data again by themselves: the recovery time is
// reported.
func TestOriginOutage(t *testing.T) {
	outage := pick(5*time.Second, 30*time.Second)
	const frozen = 2 * time.Second
	dir := t.TempDir()
	addr, gaddr := testutil.FreeAddr(t), testutil.FreeGossipAddr(t)
	env := append(commonEnv(), "SHORTSTOCK_GOSSIP_KEY="+topology.GossipKeyBase64(gossipKey))
	args := []string{"origin", "--region", "outage", "--listen", addr, "--data-dir", dir, "--gossip-bind", gaddr,
		"--link-ttl", "1s", "--stock-ttl", "1s", "--node-name", "origin-outage"}
	base := "http://" + addr
	op := startProc(t, "origin", env, args...)
	waitHTTP(t, base+"/_/readyz", 30*time.Second, op)
	api := newAdmin(t, base, 5*time.Second)

	var cached []string
	for i := range 8 {
		api.must(t, "POST", "/v1/links", fmt.Sprintf(`{"url":"https://e.example/%d","code":"out%d"}`, i, i))
		cached = append(cached, fmt.Sprintf("/out%d", i))
	}
	for i := range 2 {
		api.must(t, "PUT", fmt.Sprintf("/v1/stock/OUT-%d/w", i), `{"on_hand":5}`)
		cached = append(cached, fmt.Sprintf("/v1/stock/OUT-%d", i))
	}
	for i := range 4 { // created, never read before the outage
		api.must(t, "POST", "/v1/links", fmt.Sprintf(`{"url":"https://e.example/late%d","code":"late%d"}`, i, i))
	}
	nodes := outageEdges(t, 2, "outage", base, gaddr)
	var edges []string
	for _, n := range nodes {
		edges = append(edges, n.URL)
		waitHTTP(t, n.URL+"/_/readyz", 15*time.Second, nil)
		for _, p := range cached {
			if rd := readEdge(n.URL, p); !rd.served() {
				t.Fatalf("warming %s%s: %v", n.URL, p, rd)
			}
		}
	}
	f := newFigures("outage")
	defer f.report(t)
	n := 0
	fresh := func() string { n++; return fmt.Sprintf("/never-%d", n) }

	// Frozen: connections to the origin hang, which only the edge's origin
	// timeout (1 s) bounds.
	if err := op.stop(); err != nil {
		t.Fatal(err)
	}
	fr := load(edges, cached, frozen, time.Second+500*time.Millisecond, fresh)
	if err := op.cont(); err != nil {
		t.Fatal(err)
	}
	// Dead: connections are refused at once.
	op.kill()
	killed := time.Now()
	dead := load(edges, cached, outage, time.Second, fresh)
	for _, e := range append(fr.examples, dead.examples...) {
		t.Log(e)
	}

	restarted := time.Now()
	op = startProc(t, "origin", env, args...)
	waitHTTP(t, base+"/_/readyz", 30*time.Second, op)
	readyAfter := time.Since(restarted)
	patched := api.must(t, "PATCH", "/v1/links/out0", `{"url":"https://e.example/after"}`).version()
	wrote := time.Now()
	recovered, notRecovered := recoverAll(edges, cached, "/late0", patched, 30*time.Second)

	f.zero("cached_failures", int64(fr.cachedFail+dead.cachedFail))
	f.zero("uncached_not_503", int64(fr.uncachedBad+dead.uncachedBad))
	f.zero("uncached_503_over_1s", int64(dead.uncachedSlow))
	f.zero("frozen_uncached_over_1.5s", int64(fr.uncachedSlow))
	f.zero("not_recovered", int64(notRecovered))
	f.dur("outage", restarted.Sub(killed))
	f.count("stale_answers", fr.stale+dead.stale)
	f.count("hit_answers", fr.hit+dead.hit)
	f.count("uncached_reads", fr.uncached+dead.uncached)
	f.dur("uncached_max", dead.uncachedMax)
	f.dur("frozen_uncached_max", fr.uncachedMax)
	f.dur("cached_max_frozen", fr.cachedMax)
	f.count("cached_reads_over_500ms_frozen", fr.cachedSlow)
	f.dur("cached_max_dead", dead.cachedMax)
	f.dur("origin_ready", readyAfter)
	f.dur("recovery", wrote.Sub(restarted)+recovered)
	f.dur("fresh_after_write", recovered)
}

// recoverAll waits until every edge serves the patched version of the
// first cached key, answers the once-unreachable key (uncachedPath) with
// a redirect, and serves every cached key fresh (not STALE). It returns how
// long that took and how many (edge, condition) pairs never got there.
func recoverAll(edges, cached []string, uncachedPath string, version uint64, limit time.Duration) (time.Duration, int) {
	start := time.Now()
	pending := 0
	for _, e := range edges {
		for !edgeRecovered(e, cached, uncachedPath, version) {
			if time.Since(start) > limit {
				pending++
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return time.Since(start), pending
}

func edgeRecovered(e string, cached []string, uncachedPath string, version uint64) bool {
	if rd := readEdge(e, cached[0]); !rd.served() || rd.version < version {
		return false
	}
	if rd := readEdge(e, uncachedPath); rd.status != http.StatusFound {
		return false
	}
	for _, p := range cached {
		if rd := readEdge(e, p); !rd.served() || rd.cache == "STALE" {
			return false
		}
	}
	return true
}
