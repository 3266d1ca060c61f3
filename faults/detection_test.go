package faults

import (
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shortstock/shortstock/gossip"
	"github.com/shortstock/shortstock/internal/testutil"
	"github.com/shortstock/shortstock/topology"
)

// minSuspicion is memberlist's shortest suspicion timeout for a pool of n
// with cfg's timings: SuspicionMult * max(1, log10(n)) * ProbeInterval.
// A member that refutes within it is never declared dead.
func minSuspicion(cfg gossip.Config, n int) time.Duration {
	scale := math.Max(1, math.Log10(float64(n)))
	return time.Duration(float64(cfg.SuspicionMult) * scale * float64(cfg.ProbeInterval))
}

// TestFailureDetection runs a region of an origin and 5 edges (3 in process
// with DefaultLocalConfig timings, 2 edge processes). One in-process edge is
// slow (every packet it sends delayed by 3/4 of the probe timeout) and one
// edge process is SIGSTOPped several times for 3/4 of the shortest
// suspicion timeout: they may be suspected, but neither may ever be
// declared dead. Then the other edge process
// is kill -9ed: the time until every other member sees it dead is
// reported.
func TestFailureDetection(t *testing.T) {
	local := gossip.DefaultLocalConfig("x")
	const members = 6 // origin + 5 edges
	// Both below the limits they must stay under, by a margin that leaves
	// room for a refutation to spread on a loaded machine.
	pauseFor := minSuspicion(local, members) * 3 / 4
	slowBy := local.ProbeTimeout * 3 / 4
	deaths := &deathLog{}
	topo := startFaulty(t, topology.Config{
		Regions: 1, EdgesPerRegion: 3, RegionNames: []string{"detect"},
		Logger: slog.New(deaths.handler()),
	})
	t.Cleanup(deaths.close) // runs before the topology's shutdown: leaving is not dying
	r := topo.Regions[0]

	env := append(commonEnv(), "SHORTSTOCK_GOSSIP_KEY="+topology.GossipKeyBase64(gossipKey), "SHORTSTOCK_LOG_LEVEL=info")
	procs := map[string]*proc{}
	for _, name := range []string{"edge-kill", "edge-pause"} {
		addr := testutil.FreeAddr(t)
		p := startProc(t, name, env, "edge", "--region", "detect", "--listen", addr, "--origin", r.Origin.URL,
			"--gossip-bind", testutil.FreeGossipAddr(t), "--join", r.Origin.Gossip.LocalAddr(), "--node-name", name)
		waitHTTP(t, "http://"+addr+"/_/readyz", 20*time.Second, p)
		procs[name] = p
	}
	inproc := []*gossip.Node{r.Origin.Gossip}
	for _, e := range r.Edges {
		inproc = append(inproc, e.Gossip)
	}
	for _, n := range inproc {
		waitMembers(t, n, members, 15*time.Second)
	}
	began := time.Now()
	f := newFigures("detection")
	defer f.report(t)

	slow := r.Edges[1].Gossip.Name()
	topo.fault(slow).SetDelay(slowBy)
	pauses := pick(3, 10)
	for range pauses {
		if err := procs["edge-pause"].stop(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(pauseFor)
		if err := procs["edge-pause"].cont(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * local.ProbeInterval)
	}

	killed := time.Now()
	procs["edge-kill"].kill()
	observers := map[string]bool{"edge-pause": true}
	for _, n := range inproc {
		observers[n.Name()] = true
	}
	seen := map[string]time.Duration{}
	deadline := killed.Add(20 * time.Second)
	all := func() []death { return append(deaths.all(), procDeaths(procs["edge-pause"], "edge-pause", began)...) }
	for len(seen) < len(observers) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		for _, d := range all() {
			if _, ok := seen[d.observer]; !ok && d.member == "edge-kill" && observers[d.observer] {
				seen[d.observer] = d.at.Sub(killed)
			}
		}
	}
	time.Sleep(time.Second) // a false death may still follow the real one
	deaths.close()

	var falseDeaths []string
	for _, d := range all() {
		if d.member != "edge-kill" {
			falseDeaths = append(falseDeaths, fmt.Sprintf("%s saw %s die %v after the start", d.observer, d.member, d.at.Sub(began).Round(time.Millisecond)))
		}
	}
	sort.Strings(falseDeaths)
	falseDeaths = dedupe(falseDeaths)
	for _, s := range falseDeaths {
		t.Log(s)
	}
	var worst, best time.Duration
	best = time.Hour
	var per []string
	for o, d := range seen {
		worst, best = max(worst, d), min(best, d)
		per = append(per, fmt.Sprintf("%s=%dms", o, d.Milliseconds()))
	}
	sort.Strings(per)
	t.Logf("time to see edge-kill dead, per member: %s", strings.Join(per, " "))

	f.zero("false_deaths", int64(len(falseDeaths)))
	f.zero("never_saw_kill", int64(len(observers)-len(seen)))
	f.dur("all_see_dead", worst)
	f.dur("first_sees_dead", best)
	f.count("suspicions_of_paused", deaths.suspected("edge-pause"))
	f.count("suspicions_of_slow", deaths.suspected(slow))
	f.count("members", members)
	f.count("pauses", pauses)
	f.dur("pause", pauseFor)
	f.dur("slow_node_delay", slowBy)
	f.dur("min_suspicion", minSuspicion(local, members))
	f.dur("probe_interval", local.ProbeInterval)
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}
