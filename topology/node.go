package topology

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shortstock/shortstock/gossip"
	"github.com/shortstock/shortstock/internal/obs"
)

// nodeObs is a node's logger (l, or slog.Default()) and its own registry
// (one a node: several run in one process).
func nodeObs(l *slog.Logger) (*slog.Logger, *prometheus.Registry) {
	if l == nil {
		l = slog.Default()
	}
	return l, obs.NewRegistry()
}

// joinGossip starts a node's member of its region's pool from base, with
// the node's logger and registry; own sets what the node itself hands
// gossip (an edge its cache, an origin its heads).
func joinGossip(base gossip.Config, log *slog.Logger, reg prometheus.Registerer, own func(*gossip.Config)) (*gossip.Node, error) {
	own(&base)
	base.Logger, base.Metrics = log, reg
	g, err := gossip.New(base)
	if err != nil {
		return nil, fmt.Errorf("gossip: %w", err)
	}
	return g, nil
}

func gossipAddr(g *gossip.Node) string {
	if g == nil {
		return "off"
	}
	return g.LocalAddr()
}

// listener returns ln, or when it is nil a new TCP listener on addr.
func listener(ln net.Listener, addr string) (net.Listener, error) {
	if ln != nil {
		return ln, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}
