package faults

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/shortstock/shortstock/gossip"
	"github.com/shortstock/shortstock/topology"
)

// faultyTopology is an in-process topology whose every gossip member has a
// FaultTransport, by node name.
type faultyTopology struct {
	*topology.Topology
	mu  sync.Mutex
	fts map[string]*gossip.FaultTransport
}

func (f *faultyTopology) fault(node string) *gossip.FaultTransport {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fts[node]
}

// startFaulty starts cfg (quiet logs, a temp data dir, the suite's admin and
// gossip keys unless set) with fault transports, waits for every pool to be whole,
// and shuts it down in t.Cleanup.
func startFaulty(t *testing.T, cfg topology.Config) *faultyTopology {
	t.Helper()
	f := &faultyTopology{fts: map[string]*gossip.FaultTransport{}}
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.AdminKey == "" {
		cfg.AdminKey = adminKey
	}
	if cfg.ClusterSecret == nil {
		cfg.ClusterSecret = []byte(clusterSecret)
	}
	if cfg.GossipKey == nil {
		cfg.GossipKey = gossipKey
	}
	inner := cfg.Gossip
	cfg.Gossip = func(region, node string, g *gossip.Config) {
		g.WrapTransport = func(in memberlist.NodeAwareTransport) memberlist.NodeAwareTransport {
			f.mu.Lock()
			defer f.mu.Unlock()
			ft := gossip.NewFaultTransport(in, uint64(len(f.fts)+1))
			f.fts[node] = ft
			return ft
		}
		if inner != nil {
			inner(region, node, g)
		}
	}
	topo, err := topology.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.Topology = topo
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = topo.Shutdown(ctx) // a node a test already stopped may complain; nothing to check here
	})
	for _, r := range topo.Regions {
		waitMembers(t, r.Origin.Gossip, len(r.Edges)+1, 15*time.Second)
	}
	return f
}

// waitMembers waits until n sees want alive members.
func waitMembers(t testing.TB, n *gossip.Node, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for n.NumMembers() < want {
		if time.Now().After(deadline) {
			t.Fatalf("%s sees %d members, want %d: %v", n.Name(), n.NumMembers(), want, n.Members())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cut partitions the node named victim from every other address given, on
// both sides (an inbound TCP stream comes from an ephemeral port, so each
// side must drop the other).
func (f *faultyTopology) cut(victim string, victimAddr string, others map[string]string) {
	f.fault(victim).Partition(values(others)...)
	for name := range others {
		if ft := f.fault(name); ft != nil {
			ft.Partition(victimAddr)
		}
	}
}

func (f *faultyTopology) healAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ft := range f.fts {
		ft.Heal()
	}
}

func values(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
