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
// routing, no validation, no cache, no counters.
func NewBareServer(location string) *fasthttp.Server {
	c := edge.DefaultConfig()
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
	go func() { b.served <- b.srv.Serve(ln) }()
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
