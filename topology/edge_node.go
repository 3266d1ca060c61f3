package topology

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/shortstock/shortstock/edge"
	"github.com/shortstock/shortstock/gossip"
)

// EdgeOptions describes one edge node.
type EdgeOptions struct {
	// Edge is the edge server's config; Origins is required. Logger,
	// Registerer, Gatherer and Ready are set here.
	Edge edge.Config
	// Listen is the HTTP address ("127.0.0.1:0" picks a free port).
	Listen string
	// Listener, when set, is used instead of Listen.
	Listener net.Listener
	// Gossip, when non-nil, joins the region's pool: invalidations go to the
	// edge's cache and origin watermarks to its gap detection. Without it
	// the edge relies on TTLs and its heads poll alone.
	Gossip *gossip.Config
	// TLS, when set, serves HTTPS with it (fasthttp on a TLS listener).
	// Default nil: plain HTTP.
	TLS *tls.Config
	// AdminListen, when set, serves /_/metrics and /debug/pprof/ on this
	// address, and the public port answers /_/metrics with 404
	// (edge.Config.NoPublicMetrics). Default "": /_/metrics on the public
	// port, as before.
	AdminListen string
	// Logger for the node. Default slog.Default().
	Logger *slog.Logger
}

// EdgeNode is a running edge: fasthttp server and gossip member.
type EdgeNode struct {
	Server *edge.Server
	Gossip *gossip.Node // nil without gossip
	URL    string
	// AdminURL is the admin listener's URL, "" without one.
	AdminURL string

	admin    *adminServer
	served   chan error
	shutOnce sync.Once
	shutErr  error
}

// StartEdge starts an edge node.
func StartEdge(opts EdgeOptions) (*EdgeNode, error) {
	log, reg := nodeObs(opts.Logger)
	n := &EdgeNode{served: make(chan error, 1)}
	cfg := opts.Edge
	cfg.Logger, cfg.Registerer, cfg.Gatherer = log, reg, reg
	if opts.AdminListen != "" {
		cfg.NoPublicMetrics = true
	}
	if opts.Gossip != nil {
		// Ready once the pool has someone else in it: an edge alone in its
		// pool hears no invalidations.
		cfg.Ready = func() bool { g := n.Gossip; return g != nil && g.NumMembers() > 1 }
	} else {
		log.Warn("edge runs without gossip: it relies on TTLs and the heads poll alone for freshness")
	}
	srv, err := edge.New(cfg)
	if err != nil {
		return nil, err
	}
	n.Server = srv
	// An origin of another partition count must not be served from: refuse
	// to start when one answers now (an origin that does not answer yet is
	// checked at every later heads read, which refuses the mismatch).
	ctx, cancel := context.WithTimeout(context.Background(), max(cfg.OriginTimeout, time.Second))
	err = srv.CheckOrigin(ctx)
	cancel()
	if errors.Is(err, edge.ErrPartitionMismatch) {
		srv.Close()
		return nil, err
	} else if err != nil {
		log.Warn("edge: could not check the origin's partition count at start", "err", err)
	}
	if opts.Gossip != nil {
		g, err := joinGossip(*opts.Gossip, log, reg, func(gc *gossip.Config) {
			gc.Partitions = srv.Partitions()
			gc.Handler = srv
			gc.OnRemoteWatermarks = func(_ string, w []uint64) { srv.ObserveHeads(w) }
		})
		if err != nil {
			srv.Close()
			return nil, err
		}
		n.Gossip = g
	}
	ln, err := listener(opts.Listener, opts.Listen)
	if err != nil {
		n.close()
		return nil, err
	}
	if opts.AdminListen != "" {
		if n.admin, err = startAdmin(opts.AdminListen, reg, log); err != nil {
			ln.Close()
			n.close()
			return nil, err
		}
		n.AdminURL = n.admin.URL
	}
	ln, scheme := tlsListener(ln, opts.TLS)
	n.URL = scheme + ln.Addr().String()
	go func() { n.served <- srv.Serve(ln) }()
	log.Info("edge listening", "url", n.URL, "gossip", gossipAddr(n.Gossip), "origins", cfg.Origins)
	return n, nil
}

// Done delivers the server's error if it stops on its own.
func (n *EdgeNode) Done() <-chan error { return n.served }

// Shutdown drains requests and flushes click counts (until ctx ends), then
// leaves gossip. Leaving last keeps invalidations arriving while requests
// drain. It is idempotent.
func (n *EdgeNode) Shutdown(ctx context.Context) error {
	n.shutOnce.Do(func() {
		n.shutErr = errors.Join(n.Server.Shutdown(ctx), n.close())
	})
	return n.shutErr
}

func (n *EdgeNode) close() error {
	err := errors.Join(n.Server.Close(), n.admin.close())
	if n.Gossip != nil {
		err = errors.Join(err, n.Gossip.Close())
	}
	return err
}
