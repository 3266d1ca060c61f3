package edge

import (
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/shortstock/shortstock/edge/cache"
	"github.com/shortstock/shortstock/internal/keys"
)

// Cache headers for browsers and for a CDN (or Varnish) in front of the
// edges, per RFC 9111 (Cache-Control, Age) and RFC 5861
// (stale-while-revalidate, stale-if-error), plus the surrogate headers of
// Fastly-style CDNs (Surrogate-Key, Surrogate-Control). docs/cdn.md has
// the policy; in short:
//
//   - 302/307: max-age=RedirectMaxAge (default 0: browsers ask again).
//   - 301/308: max-age=PermanentMaxAge, unless the link is bounded (an
//     expiry, a visit limit, or ever edited: a browser keeps a permanent
//     redirect for as long as max-age says, and an edit or the end of the
//     link must be able to take effect), which gets RedirectMaxAge. The
//     status stays 301/308: what it tells search engines is still true.
//   - A link with an expiry: every lifetime is cut so that max-age, and
//     s-maxage plus either stale window, end before the link does.
//   - Stock: max-age=0 (availability changes with every sale).
//   - A cached 404: max-age=0, s-maxage at most NegativeTTL.
//   - Everything the edge makes up itself (errors, health, metrics):
//     no-store.
//
// All of it is prebuilt per class at New; a hit copies those bytes, and
// writes only Age and X-Staleness-Bound-Ms (and, for an expiring link, its
// cut lifetimes) as digits into stack buffers: no allocation.

var (
	headerCacheControl     = []byte("Cache-Control")
	headerAge              = []byte("Age")
	headerSurrogateKey     = []byte("Surrogate-Key")
	headerSurrogateControl = []byte("Surrogate-Control")
	headerStalenessBound   = []byte("X-Staleness-Bound-Ms")
	ccNoStore              = []byte("no-store")
	ccPrivateNoStore       = []byte("private, no-store")
	ageZero                = []byte("0")
	surrogatePrefixes      = [2][]byte{[]byte("link:"), []byte("sku:")} // by kindIdx
)

// cacheHeaders holds the prebuilt header values of one edge's policy.
type cacheHeaders struct {
	// Cache-Control per class, and Surrogate-Control for cacheable answers.
	temporary, permanent, stock, negative []byte
	surrogate, surrogateNeg               []byte
	// The policy in whole seconds, for the lifetimes cut by an expiry.
	redirect, perm, shared, swr, sie int64
}

func seconds(d time.Duration) int64 { return int64(d / time.Second) }

func newCacheHeaders(cfg *Config) *cacheHeaders {
	h := &cacheHeaders{
		redirect: seconds(cfg.RedirectMaxAge),
		perm:     seconds(cfg.PermanentMaxAge),
		shared:   seconds(cfg.SharedMaxAge),
		swr:      seconds(cfg.StaleWhileRevalidate),
		sie:      seconds(cfg.StaleIfError),
	}
	neg := min(h.shared, seconds(cfg.NegativeTTL))
	h.temporary = appendCacheControl(nil, h.redirect, h.shared, h.swr, h.sie)
	h.permanent = appendCacheControl(nil, h.perm, h.shared, h.swr, h.sie)
	h.stock = appendCacheControl(nil, 0, h.shared, h.swr, h.sie)
	h.negative = appendCacheControl(nil, 0, neg, 0, 0)
	h.surrogate = appendSurrogateControl(nil, h.shared, h.swr, h.sie)
	h.surrogateNeg = appendSurrogateControl(nil, neg, 0, 0)
	return h
}

// appendCacheControl renders a response Cache-Control (RFC 9111 5.2.2);
// zero stale windows are left out.
func appendCacheControl(dst []byte, maxAge, sMaxAge, swr, sie int64) []byte {
	dst = append(dst, "max-age="...)
	dst = strconv.AppendInt(dst, maxAge, 10)
	dst = append(dst, ", s-maxage="...)
	dst = strconv.AppendInt(dst, sMaxAge, 10)
	return appendStale(dst, swr, sie)
}

// appendSurrogateControl renders Surrogate-Control: the CDN's own
// lifetime, which such CDNs take over Cache-Control and strip.
func appendSurrogateControl(dst []byte, maxAge, swr, sie int64) []byte {
	dst = append(dst, "max-age="...)
	dst = strconv.AppendInt(dst, maxAge, 10)
	return appendStale(dst, swr, sie)
}

func appendStale(dst []byte, swr, sie int64) []byte {
	if swr > 0 {
		dst = append(dst, ", stale-while-revalidate="...)
		dst = strconv.AppendInt(dst, swr, 10)
	}
	if sie > 0 {
		dst = append(dst, ", stale-if-error="...)
		dst = strconv.AppendInt(dst, sie, 10)
	}
	return dst
}

// writeCacheHeaders sets the cache headers of an answer served from entry
// e for key (kind, id) at now (unix ns) in state st.
func (s *Server) writeCacheHeaders(h *fasthttp.ResponseHeader, e *cache.Entry, kind keys.Kind, id []byte, st cache.State, now int64) {
	ch := s.ch
	cc, sc := ch.temporary, ch.surrogate
	maxAge := ch.redirect
	switch {
	case e.Negative() && e.HardEnd() != 0:
		// A link that is not valid yet: its 404 must not outlive that.
		cc, sc = ccNoStore, ccNoStore
	case e.Negative():
		cc, sc = ch.negative, ch.surrogateNeg
	case kind == keys.KindStock:
		cc, maxAge = ch.stock, 0
	case (e.Status() == fasthttp.StatusMovedPermanently || e.Status() == fasthttp.StatusPermanentRedirect) && !e.Bounded():
		cc, maxAge = ch.permanent, ch.perm
	}
	if end := e.HardEnd(); end != 0 && !e.Negative() {
		// An expiring link: no cache may keep it, fresh or stale, past
		// its end. Rendered per request, on the stack.
		left := max((end-now)/int64(time.Second), 0)
		shared := min(ch.shared, left)
		swr, sie := min(ch.swr, left-shared), min(ch.sie, left-shared)
		var ccBuf, scBuf [128]byte
		cc = appendCacheControl(ccBuf[:0], min(maxAge, left), shared, swr, sie)
		sc = appendSurrogateControl(scBuf[:0], shared, swr, sie)
	}

	var key [8 + 255 + maxSurrogateTags]byte
	p := surrogatePrefixes[kindIdx(kind)]
	sk := append(append(key[:0], p...), id...)
	if e.HasExt() && !e.Negative() {
		x, ok := parseLinkExt(e.Ext())
		if ok && len(x.tags) <= maxSurrogateTags {
			sk = append(sk, x.tags...)
		}
		if !ok || x.perRequest() {
			// The answer depends on the request (User-Agent, query) or
			// is counted (a visit limit): no cache in front may keep it.
			cc, sc = ccPrivateNoStore, ccNoStore
		}
	}
	h.SetCanonical(headerCacheControl, cc)
	h.SetCanonical(headerSurrogateControl, sc)
	h.SetCanonical(headerSurrogateKey, sk)

	// The answer can be behind its origin by at most the time since this
	// edge last confirmed it had applied every change its origin had made
	// (see staleness.go); that is also the most the entry can have aged
	// since it was last validated, which Age reports (RFC 9111 5.1). A
	// fresh fill is age 0.
	behind := max(now-s.confirmedAt.Load(), 0)
	var num [20]byte
	if st == cache.Miss {
		h.SetCanonical(headerAge, ageZero)
	} else {
		h.SetCanonical(headerAge, strconv.AppendInt(num[:0], behind/int64(time.Second), 10))
	}
	h.SetCanonical(headerStalenessBound, strconv.AppendInt(num[:0], behind/int64(time.Millisecond), 10))
}
