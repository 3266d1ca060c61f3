package edge

import (
	"errors"
	"net"

	"github.com/valyala/fasthttp"
)

// Request framing at the edge. The edge is often the last hop behind a load
// balancer, so how it frames requests must leave no room for a front proxy
// and the edge to disagree about where one request ends (request
// smuggling), and oversized input must get the status RFC 9110 gives it.

var (
	bodyHeadersTooLarge = []byte(`{"error":"headers_too_large","message":"the request line and headers exceed the limit"}`)
	bodyBodyTooLarge    = []byte(`{"error":"body_too_large","message":"the request body exceeds the limit; the public API takes none"}`)
	bodyReadTimeout     = []byte(`{"error":"request_timeout","message":"the request was not received in time"}`)
	bodyMalformed       = []byte(`{"error":"bad_request","message":"malformed HTTP request"}`)
)

// headerReceived runs after a request's headers are parsed, before its body
// is read. A request framed by Transfer-Encoding may also have carried a
// Content-Length, which fasthttp drops without a trace (and an empty chunked
// body even clears the Transfer-Encoding before the handler runs), so the
// decision is taken here: RFC 9112 section 6.1 requires closing the
// connection after answering such a request, so that bytes a proxy framed
// differently can never be read as a next request. The public API takes no
// bodies, so nothing legitimate is lost.
func headerReceived(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	if h.ContentLength() == -1 {
		h.SetConnectionClose()
	}
	return fasthttp.RequestConfig{}
}

// parseError answers a request fasthttp could not read: 431 for a request
// line and headers past ReadBufferSize, 413 for a body past
// MaxRequestBodySize (fasthttp's default says 400), 408 when the request
// did not arrive within ReadTimeout, 400 for the rest, all as the API's
// JSON errors. fasthttp closes the connection after each.
func (s *Server) parseError(ctx *fasthttp.RequestCtx, err error) {
	s.m.rejected.WithLabelValues("malformed").Inc()
	var small *fasthttp.ErrSmallBuffer
	var ne net.Error
	switch {
	case errors.As(err, &small):
		s.plain(ctx, fasthttp.StatusRequestHeaderFieldsTooLarge, bodyHeadersTooLarge)
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		s.plain(ctx, fasthttp.StatusRequestEntityTooLarge, bodyBodyTooLarge)
	case errors.As(err, &ne) && ne.Timeout():
		s.plain(ctx, fasthttp.StatusRequestTimeout, bodyReadTimeout)
	default:
		s.plain(ctx, fasthttp.StatusBadRequest, bodyMalformed)
	}
}
