package edge

import (
	"bytes"
	"encoding/binary"
	"sync"

	"github.com/valyala/fasthttp"

	"github.com/shortstock/shortstock/edge/cache"
	"github.com/shortstock/shortstock/internal/wire"
)

// A link with per-request features (device targets, query forwarding, a
// visit limit) carries them in its cache entry's Ext: a flags byte, then
// the iOS and Android targets as uvarint-length strings. A hit on such a
// link reads them in place (slices of the entry, no copy); only a merged
// Location with a forwarded query is built, in a pooled buffer. Links
// without features have no Ext and keep the zero-allocation hit path.
//
// A tagged link's Ext also carries its surrogate tags, prebuilt as
// " tag:A tag:B" (flag extTags, last): the Surrogate-Key of a hit appends
// those bytes in place. Tags alone are not a per-request feature: such a
// link stays cacheable downstream (see linkExt.perRequest).
const (
	extForwardQuery = 1 << iota
	extIOS
	extAndroid
	extMaxVisits
	extTags
)

// extPerRequest are the features that make an answer depend on the
// request, or count it.
const extPerRequest = extForwardQuery | extIOS | extAndroid | extMaxVisits

// maxEdgeTags and maxTagLen bound the tags the edge accepts from its
// origin (the origin's own limits: 32 tags of [A-Za-z0-9_-]{1,32}).
const (
	maxEdgeTags = 32
	maxTagLen   = 32
)

// maxSurrogateTags bounds the rendered " tag:A tag:B" of one link.
const maxSurrogateTags = maxEdgeTags * (len(" tag:") + maxTagLen)

// validTags reports whether there are at most maxEdgeTags tags, each
// matching [A-Za-z0-9_-]{1,32}: they go into a header as they are.
func validTags(tags []string) bool {
	if len(tags) > maxEdgeTags {
		return false
	}
	for _, t := range tags {
		if len(t) == 0 || len(t) > maxTagLen {
			return false
		}
		for i := 0; i < len(t); i++ {
			c := t[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
				return false
			}
		}
	}
	return true
}

// encodeLinkExt renders the features of rec; nil when it has none.
func encodeLinkExt(rec *wire.LinkRecord) []byte {
	var flags byte
	if rec.ForwardQuery {
		flags |= extForwardQuery
	}
	if rec.IOS != "" {
		flags |= extIOS
	}
	if rec.Android != "" {
		flags |= extAndroid
	}
	if rec.MaxVisits != nil {
		flags |= extMaxVisits
	}
	if len(rec.Tags) > 0 {
		flags |= extTags
	}
	if flags == 0 {
		return nil
	}
	b := []byte{flags}
	for _, s := range []string{rec.IOS, rec.Android} {
		if s != "" {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
	}
	if len(rec.Tags) > 0 {
		var st []byte
		for _, t := range rec.Tags {
			st = append(append(st, " tag:"...), t...)
		}
		b = binary.AppendUvarint(b, uint64(len(st)))
		b = append(b, st...)
	}
	return b
}

// linkExt is a view of an entry's Ext.
type linkExt struct {
	flags        byte
	ios, android []byte
	tags         []byte // " tag:A tag:B", for Surrogate-Key
}

// perRequest reports whether the answer depends on the request or is
// counted (not cacheable downstream).
func (x *linkExt) perRequest() bool { return x.flags&extPerRequest != 0 }

// parseLinkExt reads what encodeLinkExt wrote (the cache gives back the
// bytes it was given, so a failure is a bug: the link then serves its
// main target).
func parseLinkExt(b []byte) (x linkExt, ok bool) {
	if len(b) == 0 {
		return x, false
	}
	x.flags, b = b[0], b[1:]
	str := func() []byte {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			ok = false
			return nil
		}
		s := b[k : k+int(n)]
		b = b[k+int(n):]
		return s
	}
	ok = true
	if x.flags&extIOS != 0 {
		x.ios = str()
	}
	if x.flags&extAndroid != 0 {
		x.android = str()
	}
	if x.flags&extTags != 0 {
		x.tags = str()
	}
	return x, ok && len(b) == 0
}

var (
	tokIPhone  = []byte("iPhone")
	tokIPad    = []byte("iPad")
	tokIPod    = []byte("iPod")
	tokAndroid = []byte("Android")
)

// deviceTarget picks the target for a User-Agent: iOS devices (iPhone,
// iPad, iPod) and Android, as Shlink's device long URLs do; nil for any
// other client or a link without that target.
func deviceTarget(x *linkExt, ua []byte) []byte {
	if len(x.ios) > 0 && (bytes.Contains(ua, tokIPhone) || bytes.Contains(ua, tokIPad) || bytes.Contains(ua, tokIPod)) {
		return x.ios
	}
	if len(x.android) > 0 && bytes.Contains(ua, tokAndroid) {
		return x.android
	}
	return nil
}

// maxLocation bounds a Location with a forwarded query; past it the
// query is not forwarded (the target alone is still a good answer).
const maxLocation = 16 << 10

var locationPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// appendForwarded appends target with query merged in: after the
// target's own query (joined with '&'), before its fragment.
func appendForwarded(dst, target, query []byte) []byte {
	base, frag := target, []byte(nil)
	if i := bytes.IndexByte(target, '#'); i >= 0 {
		base, frag = target[:i], target[i:]
	}
	dst = append(dst, base...)
	switch q := bytes.IndexByte(base, '?'); {
	case q < 0:
		dst = append(dst, '?')
	case q == len(base)-1 || base[len(base)-1] == '&':
	default:
		dst = append(dst, '&')
	}
	dst = append(dst, query...)
	return append(dst, frag...)
}

// cleanQuery reports whether a request's query string may go into a
// Location header as is: no control characters, spaces or '#'.
func cleanQuery(q []byte) bool {
	for _, c := range q {
		if c <= ' ' || c == 0x7f || c == '#' {
			return false
		}
	}
	return true
}

// setExtLocation sets the Location of a redirect hit on a link with
// features, over the plain one the caller set (which stays if the Ext is
// unreadable).
func setExtLocation(ctx *fasthttp.RequestCtx, e *cache.Entry) {
	x, ok := parseLinkExt(e.Ext())
	if !ok || !x.perRequest() {
		return
	}
	loc := e.Location()
	if t := deviceTarget(&x, ctx.Request.Header.UserAgent()); t != nil {
		loc = t
	}
	q := ctx.URI().QueryString()
	if x.flags&extForwardQuery == 0 || len(q) == 0 || !cleanQuery(q) || len(loc)+len(q)+1 > maxLocation {
		ctx.Response.Header.SetCanonical(headerLocation, loc)
		return
	}
	bp := locationPool.Get().(*[]byte)
	*bp = appendForwarded((*bp)[:0], loc, q)
	ctx.Response.Header.SetCanonical(headerLocation, *bp)
	locationPool.Put(bp)
}
