package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/shortstock/shortstock/docs/openapitest"
	"github.com/shortstock/shortstock/edge/cache"
	"github.com/shortstock/shortstock/internal/keys"
)

// FuzzRoute: any path routes without panicking, and a key route's id is a
// suffix of the path.
func FuzzRoute(f *testing.F) {
	for _, s := range []string{"/abc", "/v1/stock/SKU-1", "/_/healthz", "/", "", "/a/b", "/v1/stock/", "//", "/_", "/v1/stock/a/b"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, path []byte) {
		r, id := route(path)
		switch r {
		case routeLink, routeStock:
			if !bytes.HasSuffix(path, id) {
				t.Fatalf("id %q is not a suffix of %q", id, path)
			}
			if r == routeLink && bytes.IndexByte(id, '/') >= 0 {
				t.Fatalf("link id %q has a slash", id)
			}
		case routeNotFound, routeHealthz, routeReadyz, routeMetrics:
		default:
			t.Fatalf("route %d", r)
		}
	})
}

// FuzzHandler drives the real handler with any method and URI. The loader
// fails the test if it is ever asked for an id that does not validate: bad
// input must never reach the origin.
func FuzzHandler(f *testing.F) {
	for _, s := range [][2]string{
		{"GET", "/abc"}, {"HEAD", "/abc"}, {"GET", "/v1/stock/S.1:x"}, {"POST", "/abc"}, {"GET", "/a%2Fb"},
		{"GET", "/%00"}, {"GET", "/v1/stock/%2e%2e"}, {"GET", "/_/healthz"}, {"GET", "/x?y=1"}, {"GET", "http://h/abc"},
	} {
		f.Add(s[0], s[1])
	}
	s, err := New(Config{Origins: []string{"http://127.0.0.1:1"}, Logger: quietLogger(), HeadsPollInterval: 0})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	var bad string
	c, err := cache.New(cache.Config{Loader: cache.LoaderFunc(func(_ context.Context, k keys.Kind, id string, minVersion uint64) (*cache.Entry, error) {
		if k == keys.KindLink && !keys.ValidCode(id) || k == keys.KindStock && !keys.ValidSKU(id) {
			bad = string(k) + ":" + id
		}
		if k == keys.KindStock { // what an origin answers for a SKU
			body, _ := json.Marshal(map[string]any{"sku": id, "available": 1, "version": 1, "warehouses": map[string]any{}})
			return cache.NewEntry(cache.Answer{Kind: k, ID: id, Status: 200, Version: 1, TTL: time.Minute, ContentType: []byte("application/json"), Body: body})
		}
		return cache.NewEntry(cache.Answer{Kind: k, ID: id, Status: 302, Version: 1, TTL: time.Minute, Location: "https://example.com"})
	})})
	if err != nil {
		f.Fatal(err)
	}
	// The fuzz cache replaces the one New built; s.Close closes it.
	s.cache.Close()
	s.cache = c
	h := s.Handler()
	// The seed inputs' answers are checked against docs/openapi.yaml too;
	// while fuzzing that would cost most of each run, so it is left out.
	var spec *openapitest.Checker
	if fl := flag.Lookup("test.fuzz"); fl == nil || fl.Value.String() == "" {
		spec = openapitest.Shared(f)
	}
	f.Fuzz(func(t *testing.T, method, uri string) {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(method)
		ctx.Request.SetRequestURI(uri)
		h(&ctx)
		if bad != "" {
			t.Fatalf("%s %q reached the loader as %q", method, uri, bad)
		}
		if st := ctx.Response.StatusCode(); st < 200 || st > 599 {
			t.Fatalf("status %d", st)
		}
		if spec != nil {
			for _, v := range spec.Check(exchange(&ctx.Request, &ctx.Response)) {
				t.Errorf("openapi: %s %q: %s", method, uri, v)
			}
		}
	})
}

// FuzzDecodeLink: no panic, and an accepted record is safe to put in a
// Location header with a redirect status.
func FuzzDecodeLink(f *testing.F) {
	f.Add("abc", []byte(`{"code":"abc","url":"https://e.x/","redirect":301,"version":2}`))
	f.Add("abc", []byte(`{"code":"abc","url":"https://e.x/\r\nSet-Cookie: x","redirect":302,"version":2}`))
	f.Add("abc", []byte(`{"code":"abc","url":"https://e.x/","redirect":999}`))
	f.Add("abc", []byte(`{"code":"abc","url":"https://e.x/","expires_at":"2030-01-01T00:00:00Z"}`))
	f.Add("abc", []byte(`[]`))
	f.Add("abc", []byte(`{"code":"abc","url":"https://e.x/","redirect":302,"version":2,"tags":["promo","a_b-1"]}`))
	f.Add("abc", []byte(`{"code":"abc","url":"https://e.x/","redirect":302,"version":2,"tags":["a b","x\r\ny"]}`))
	f.Fuzz(func(t *testing.T, code string, body []byte) {
		r, err := decodeLink(code, body)
		if err != nil {
			return
		}
		if r.Code != code || !validLocation(r.URL) || strings.ContainsAny(r.URL, "\r\n") {
			t.Fatalf("accepted %+v", r)
		}
		for _, tag := range r.Tags {
			if tag == "" || len(tag) > 32 || strings.ContainsAny(tag, " \r\n:,") {
				t.Fatalf("accepted tag %q", tag)
			}
		}
		if x, ok := parseLinkExt(encodeLinkExt(&r)); len(r.Tags) > 0 && (!ok || len(x.tags) > maxSurrogateTags) {
			t.Fatalf("tags %q do not round-trip through the ext", r.Tags)
		}
		switch r.Redirect {
		case 301, 302, 307, 308:
		default:
			t.Fatalf("accepted redirect %d", r.Redirect)
		}
	})
}

// FuzzDecodePage: no panic; an accepted page holds valid changes of the
// partition, in growing seq order, none past the head.
func FuzzDecodePage(f *testing.F) {
	f.Add(3, []byte(`{"partition":3,"changes":[],"head":0,"first":0}`))
	f.Add(3, []byte(`{"partition":3,"changes":[{"partition":3,"seq":1,"key":"s:x","version":1,"at_ms":1}],"head":1,"first":1}`))
	f.Add(0, []byte(`{"partition":0,"changes":[{"partition":0,"seq":2,"key":"l:a","version":1},{"partition":0,"seq":1,"key":"l:a","version":1}],"head":2}`))
	f.Add(1, []byte(`null`))
	f.Fuzz(func(t *testing.T, p int, body []byte) {
		pg, err := decodePage(p, body)
		if err != nil {
			return
		}
		var prev uint64
		for _, c := range pg.Changes {
			if c.Validate() != nil || c.Partition != p || c.Seq <= prev || c.Seq > pg.Head {
				t.Fatalf("accepted %+v in %+v", c, pg)
			}
			prev = c.Seq
		}
	})
}

// FuzzDecodeHeadersAndHeads: the header parsers and the heads decoder never
// panic and keep their bounds.
func FuzzDecodeHeadersAndHeads(f *testing.F) {
	f.Add([]byte("12"), []byte("30000"), []byte(`{"heads":[]}`))
	f.Add([]byte("-1"), []byte("-5"), []byte(`{"heads":null}`))
	f.Add([]byte("18446744073709551616"), []byte("99999999999999999"), []byte(`{`))
	f.Fuzz(func(t *testing.T, version, ttl, heads []byte) {
		_, _ = parseVersion(version)
		if d, err := parseTTL(ttl); err == nil && (d < 0 || d > maxTTL) {
			t.Fatalf("ttl %v out of bounds", d)
		}
		if h, err := decodeHeads(heads, keys.DefaultPartitions); err == nil && len(h) != keys.DefaultPartitions {
			t.Fatalf("%d heads accepted", len(h))
		}
		_, _ = decodeMissing(heads)
		_ = checkStockBody("x", heads)
	})
}
