package edge

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

var (
	headerCacheControlReq = []byte("Cache-Control")
	tokenOnlyIfCached     = []byte("only-if-cached")
)

// onlyIfCached reports whether the request's Cache-Control carries the
// only-if-cached directive (RFC 9111 5.2.1.7): the client wants a stored
// answer or none, so a miss answers 504 instead of calling the origin.
// Monitoring uses it to ask an edge what it holds without filling it (the
// bench's invalidation prober does). Directives are case-insensitive and
// comma-separated; one with an argument ("only-if-cached=x") is not it.
func onlyIfCached(h *fasthttp.RequestHeader) bool {
	v := h.PeekBytes(headerCacheControlReq)
	for len(v) > 0 {
		var d []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			d, v = v[:i], v[i+1:]
		} else {
			d, v = v, nil
		}
		if bytes.EqualFold(bytes.TrimSpace(d), tokenOnlyIfCached) {
			return true
		}
	}
	return false
}
