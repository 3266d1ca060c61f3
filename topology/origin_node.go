package topology

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/shortstock/shortstock/gossip"
	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/origin"
)

// OriginOptions describes one origin node.
type OriginOptions struct {
	// Origin is the origin server's config; Store and AdminKeys are
	// required. Logger, Registerer, Gatherer and Publisher are set here.
	Origin origin.Config
	// Listen is the HTTP address ("127.0.0.1:0" picks a free port).
	Listen string
	// Listener, when set, is used instead of Listen.
	Listener net.Listener
	// Gossip, when non-nil, makes the node a member of its region's pool
	// that publishes every change the origin tails. Handler and
	// LocalWatermarks are set here.
	Gossip *gossip.Config
	// PublishDelay holds every change this long before gossiping it: the
	// replication delay of a region far from the writer. Default 0.
	PublishDelay time.Duration
	// TLS, when set, serves HTTPS with it (see tlsfiles.Reloader for
	// certificates reloaded from files). Default nil: plain HTTP.
	TLS *tls.Config
	// AdminListen, when set, serves /_/metrics and /debug/pprof/ on this
	// address too (see startAdmin). Default "": none; /_/metrics stays on
	// the main port, which on an origin is not public.
	AdminListen string
	// Logger for the node. Default slog.Default().
	Logger *slog.Logger
}

// OriginNode is a running origin: HTTP server, background loops, gossip.
type OriginNode struct {
	Server *origin.Server
	Gossip *gossip.Node // nil without gossip
	URL    string       // http://host:port, or https://
	// AdminURL is the admin listener's URL, "" without one.
	AdminURL string

	admin *adminServer

	log      *slog.Logger
	http     *http.Server
	delay    *delayQueue
	served   chan error
	shutOnce sync.Once
	shutErr  error
}

// StartOrigin starts an origin node. The Store stays the caller's to close,
// after Shutdown.
func StartOrigin(opts OriginOptions) (*OriginNode, error) {
	log, reg := nodeObs(opts.Logger)
	n := &OriginNode{log: log, served: make(chan error, 1)}

	cfg := opts.Origin
	cfg.Logger, cfg.Registerer, cfg.Gatherer = log, reg, reg
	// The gossip node needs the server's heads and the server needs the
	// node as its publisher: bind them late through n.
	if opts.Gossip != nil {
		publish := func(c change.Change) {
			if g := n.Gossip; g != nil {
				_ = g.Publish(c) // an older version than seen is skipped; nothing else fails
			}
		}
		if opts.PublishDelay > 0 {
			n.delay = newDelayQueue(opts.PublishDelay, publish)
			publish = n.delay.push
		}
		cfg.Publisher = origin.PublisherFunc(publish)
	}
	srv, err := origin.New(cfg)
	if err != nil {
		return nil, err
	}
	n.Server = srv
	if opts.Gossip != nil {
		g, err := joinGossip(*opts.Gossip, log, reg, func(gc *gossip.Config) {
			gc.LocalWatermarks = srv.Heads
			gc.Partitions = opts.Origin.Store.Partitions().N()
		})
		if err != nil {
			srv.Close()
			return nil, err
		}
		n.Gossip = g
	}
	ln, err := listener(opts.Listener, opts.Listen)
	if err != nil {
		n.closeBackground()
		return nil, err
	}
	if opts.AdminListen != "" {
		if n.admin, err = startAdmin(opts.AdminListen, reg, log); err != nil {
			ln.Close()
			n.closeBackground()
			return nil, err
		}
		n.AdminURL = n.admin.URL
	}
	ln, scheme := tlsListener(ln, opts.TLS)
	n.URL = scheme + ln.Addr().String()
	n.http = newHTTPServer(srv.Handler(), log)
	n.http.RegisterOnShutdown(srv.StopStreams) // feed long polls and SSE end at once
	go func() { n.served <- n.http.Serve(ln) }()
	log.Info("origin listening", "url", n.URL, "gossip", gossipAddr(n.Gossip))
	return n, nil
}

// Done delivers the HTTP server's error if it stops on its own (a listener
// failure) rather than through Shutdown.
func (n *OriginNode) Done() <-chan error { return n.served }

// Shutdown drains HTTP requests (until ctx ends), stops the tailer and hold
// expiry, then leaves gossip. It is idempotent.
func (n *OriginNode) Shutdown(ctx context.Context) error {
	n.shutOnce.Do(func() {
		err := n.http.Shutdown(ctx)
		if errors.Is(err, context.DeadlineExceeded) {
			n.http.Close()
		}
		n.shutErr = errors.Join(err, n.closeBackground())
	})
	return n.shutErr
}

func (n *OriginNode) closeBackground() error {
	err := errors.Join(n.Server.Close(), n.admin.close())
	if n.delay != nil {
		n.delay.close()
	}
	if n.Gossip != nil {
		err = errors.Join(err, n.Gossip.Close())
	}
	return err
}

func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
