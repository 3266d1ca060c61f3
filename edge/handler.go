package edge

import (
	"github.com/valyala/fasthttp"

	"github.com/shortstock/shortstock/edge/cache"
	"github.com/shortstock/shortstock/internal/keys"
)

// Header names and values, built once so that setting them copies bytes
// and converts nothing.
var (
	headerXCache   = []byte("X-Cache")
	headerXVersion = []byte("X-Version")
	headerLocation = []byte("Location")
	headerAllow    = []byte("Allow")
	allowGetHead   = []byte("GET, HEAD")
	cacheStates    = [...][]byte{cache.Miss: []byte("MISS"), cache.Hit: []byte("HIT"), cache.Stale: []byte("STALE"), cache.Revalidating: []byte("STALE-REVALIDATING")}

	bodyBadCode     = []byte(`{"error":"invalid_code","message":"a code is [A-Za-z0-9][A-Za-z0-9_-]{0,63}"}`)
	bodyBadSKU      = []byte(`{"error":"invalid_sku","message":"a sku is [A-Za-z0-9][A-Za-z0-9._:-]{0,63}"}`)
	bodyNotFound    = []byte(`{"error":"not_found","message":"no such endpoint"}`)
	bodyMethod      = []byte(`{"error":"method_not_allowed","message":"use GET or HEAD"}`)
	bodyUnavailable = []byte(`{"error":"origin_unavailable","message":"not cached here and no origin answered"}`)
	bodyNotCached   = []byte(`{"error":"not_cached","message":"only-if-cached, and nothing servable is cached here"}`)
	bodyOK          = []byte(`{"status":"ok"}`)
	bodyReady       = []byte(`{"status":"ready"}`)
	bodyNotReady    = []byte(`{"status":"not ready"}`)
)

// handle is the fasthttp handler: a switch on the path, no router.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	r, id := route(ctx.Path())
	if r != routeNotFound && !ctx.IsGet() && !ctx.IsHead() {
		s.m.rejMethod.Inc()
		ctx.Response.Header.SetCanonical(headerAllow, allowGetHead)
		s.plain(ctx, fasthttp.StatusMethodNotAllowed, bodyMethod)
		return
	}
	switch r {
	case routeLink:
		if !keys.ValidCode(id) {
			s.m.rejBadCode.Inc()
			s.plain(ctx, fasthttp.StatusBadRequest, bodyBadCode)
			return
		}
		s.serveKey(ctx, keys.KindLink, id)
	case routeStock:
		if !keys.ValidSKU(id) {
			s.m.rejBadSKU.Inc()
			s.plain(ctx, fasthttp.StatusBadRequest, bodyBadSKU)
			return
		}
		s.serveKey(ctx, keys.KindStock, id)
	case routeHealthz:
		s.plain(ctx, fasthttp.StatusOK, bodyOK)
	case routeReadyz:
		if s.ready() {
			s.plain(ctx, fasthttp.StatusOK, bodyReady)
		} else {
			s.plain(ctx, fasthttp.StatusServiceUnavailable, bodyNotReady)
		}
	case routeMetrics:
		if s.cfg.NoPublicMetrics {
			s.m.rejNotFound.Inc()
			s.plain(ctx, fasthttp.StatusNotFound, bodyNotFound)
			return
		}
		s.metrics(ctx)
		ctx.Response.Header.SetCanonical(headerCacheControl, ccNoStore)
	case routeFavicon:
		s.fixed(ctx, contentTypeIcon, favicon)
	case routeRobots:
		s.fixed(ctx, contentTypeText, s.robots)
	default:
		s.m.rejNotFound.Inc()
		s.plain(ctx, fasthttp.StatusNotFound, bodyNotFound)
	}
}

// serveKey answers a validated code or SKU from the cache. On a hit it
// allocates nothing: the entry's bytes were rendered at fill time, the
// header names and values are prebuilt, and the counters are resolved.
func (s *Server) serveKey(ctx *fasthttp.RequestCtx, kind keys.Kind, id []byte) {
	now := ctx.Time() // read by fasthttp for this request already
	if !s.realClock || now.IsZero() {
		now = s.cfg.Clock.Now()
	}
	e, st, ok := s.cache.CachedAt(kind, id, now)
	var err error
	if !ok {
		// The miss path only: a hit never reads the header.
		if onlyIfCached(&ctx.Request.Header) {
			s.m.notCached.Inc()
			s.plain(ctx, fasthttp.StatusGatewayTimeout, bodyNotCached)
			return
		}
		e, st, err = s.cache.GetAt(kind, id, now)
	}
	if err != nil {
		s.m.unavail.Inc()
		s.plain(ctx, fasthttp.StatusServiceUnavailable, bodyUnavailable)
		return
	}
	if e.HasExt() && !e.Negative() && !s.visitAllowed(ctx, e, id, now) {
		// Past max_visits: 404 like an expired link, cached nowhere.
		s.plain(ctx, fasthttp.StatusNotFound, bodyLinkNotFound)
		return
	}
	ki := kindIdx(kind)
	s.m.answers[ki][st].Inc()
	resp := &ctx.Response
	resp.SetStatusCode(e.Status())
	if ct := e.ContentType(); len(ct) > 0 {
		resp.Header.SetContentTypeBytes(ct)
	}
	if loc := e.Location(); len(loc) > 0 {
		resp.Header.SetCanonical(headerLocation, loc)
		if e.HasExt() {
			setExtLocation(ctx, e)
		}
	}
	resp.Header.SetCanonical(headerXCache, cacheStates[st])
	resp.Header.SetCanonical(headerXVersion, e.VersionBytes())
	resp.SetBodyRaw(e.Body())
	s.writeCacheHeaders(&resp.Header, e, kind, id, st, now.UnixNano())
	if e.Negative() {
		s.m.negative[ki].Inc()
	} else if kind == keys.KindLink && ctx.IsGet() {
		// A HEAD is a check, not a click. Classified first, counted second:
		// see shipAmount.
		if s.an != nil {
			s.an.offer(ctx, id, now)
		}
		s.clicks.Add(e)
	}
}

// plain answers with a prebuilt JSON body that no cache may keep: errors
// and health change from one moment to the next.
func (s *Server) plain(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.Response.SetStatusCode(status)
	ctx.Response.Header.SetContentTypeBytes(contentTypeJSON)
	ctx.Response.Header.SetCanonical(headerCacheControl, ccNoStore)
	ctx.Response.SetBodyRaw(body)
}

// fixed answers /favicon.ico and /robots.txt: a small body that browsers
// and crawlers ask for on their own, so a 400 would only fill logs.
func (s *Server) fixed(ctx *fasthttp.RequestCtx, ctype, body []byte) {
	ctx.Response.SetStatusCode(fasthttp.StatusOK)
	ctx.Response.Header.SetContentTypeBytes(ctype)
	ctx.Response.Header.SetCanonical(headerCacheControl, ccFixed)
	ctx.Response.SetBodyRaw(body)
}

var (
	contentTypeIcon = []byte("image/x-icon")
	contentTypeText = []byte("text/plain; charset=utf-8")
	ccFixed         = []byte("max-age=86400")
	// favicon is a 1x1 transparent 32-bit ICO (70 bytes): an ICONDIR, one
	// ICONDIRENTRY, a BITMAPINFOHEADER (height doubled for the mask), one
	// BGRA pixel and one padded row of AND mask.
	favicon = []byte{
		0, 0, 1, 0, 1, 0, // ICONDIR: reserved, type 1 (icon), 1 image
		1, 1, 0, 0, 1, 0, 32, 0, 48, 0, 0, 0, 22, 0, 0, 0, // 1x1, 1 plane, 32 bpp, 48 bytes at offset 22
		40, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 32, 0, // header size 40, 1 x 2, 1 plane, 32 bpp
		0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // BI_RGB, 8 image bytes
		0, 0, 0, 0, // the pixel: transparent
		0, 0, 0, 0, // AND mask row
	}
)
