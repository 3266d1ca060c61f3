package bench

import (
	"fmt"
	"net"

	"github.com/shortstock/shortstock/edge"
	"github.com/valyala/fasthttp"
)

// BareLocation is where the bare server redirects to.
const BareLocation = "https://example.com/landing?utm=bench"

// NewBareServer returns the ceiling an edge's cache hit is measured
// against: a fasthttp server with exactly the edge's server settings (taken
// from edge.DefaultConfig, so the two cannot drift apart) that answers
// every request with the same 302 to location and does nothing else: no
// routing, no validation, no cache, no counters. Serve it on a listener
// from BareListener, as the edge serves on its TimeoutListener.
func NewBareServer(location string) *fasthttp.Server {
	c := edge.DefaultConfig()
	if _, coarse := c.ListenerTimeouts(); coarse {
		// The edge's listener enforces them (BareListener).
		c.ReadTimeout, c.WriteTimeout, c.IdleTimeout = 0, 0, 0
	}
	loc := []byte(location)
	return &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.Response.SetStatusCode(fasthttp.StatusFound)
			ctx.Response.Header.SetCanonical(headerLocation, loc)
		},
		Name:                 "shortstock",
		ReadTimeout:          c.ReadTimeout,
		WriteTimeout:         c.WriteTimeout,
		IdleTimeout:          c.IdleTimeout,
		MaxRequestBodySize:   c.MaxRequestBodySize,
		ReadBufferSize:       c.ReadBufferSize,
		Concurrency:          c.Concurrency,
		NoDefaultContentType: true,
		CloseOnShutdown:      true,
	}
}

var headerLocation = []byte("Location")

// BareListener wraps ln as the edge wraps its own with the default
// config: a TimeoutListener enforcing the edge's timeouts.
func BareListener(ln net.Listener) (net.Listener, error) {
	t, coarse := edge.DefaultConfig().ListenerTimeouts()
	if !coarse {
		return ln, nil
	}
	return edge.TimeoutListener(ln, t)
}

// bareServer is a running bare server.
type bareServer struct {
	URL    string
	srv    *fasthttp.Server
	served chan error
}

// startBare serves a bare server on a free loopback port.
func startBare() (*bareServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("%w: bare server: %w", ErrTarget, err)
	}
	b := &bareServer{URL: "http://" + ln.Addr().String(), srv: NewBareServer(BareLocation), served: make(chan error, 1)}
	wrapped, err := BareListener(ln)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("%w: bare server: %w", ErrTarget, err)
	}
	go func() { b.served <- b.srv.Serve(wrapped) }()
	return b, nil
}

// stop shuts the server down and waits for Serve to return.
func (b *bareServer) stop() error {
	err := b.srv.Shutdown()
	if serr := <-b.served; err == nil {
		err = serr
	}
	return err
}
