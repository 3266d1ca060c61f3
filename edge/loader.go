package edge

import (
	"bytes"
	"context"
	"time"

	"github.com/shortstock/shortstock/edge/cache"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/wire"
	"github.com/valyala/fasthttp"
)

// Bodies of the answers the edge renders itself.
var (
	bodyLinkNotFound  = []byte(`{"error":"not_found","message":"no such link"}`)
	bodyStockNotFound = []byte(`{"error":"not_found","message":"no such sku"}`)
	contentTypeJSON   = []byte("application/json")
)

// originLoader fills the cache from the origin's internal API and renders
// each answer once, as the bytes every hit will send.
type originLoader struct {
	oc          *originClient
	negativeTTL time.Duration
}

// Load implements cache.Loader.
func (l *originLoader) Load(ctx context.Context, kind keys.Kind, id string) (*cache.Entry, error) {
	path, endpoint := wire.PathLinks+id, "link"
	if kind == keys.KindStock {
		path, endpoint = wire.PathStock+id, "stock"
	}
	var e *cache.Entry
	err := l.oc.do(ctx, endpoint, fasthttp.MethodGet, path, nil, statusOKOrMissing, func(r *fasthttp.Response) error {
		var err error
		e, err = l.render(kind, id, r)
		return err
	})
	return e, err
}

// render turns one origin answer into an entry. The response's buffers are
// reused by fasthttp afterwards, so everything kept is copied.
func (l *originLoader) render(kind keys.Kind, id string, r *fasthttp.Response) (*cache.Entry, error) {
	version, err := parseVersion(r.Header.Peek(wire.HeaderVersion))
	if err != nil {
		return nil, err
	}
	ttl, err := parseTTL(r.Header.Peek(wire.HeaderTTL))
	if err != nil {
		return nil, err
	}
	e := &cache.Entry{Kind: kind, ID: id, Version: version, TTL: ttl}
	if r.StatusCode() == fasthttp.StatusNotFound {
		m, err := decodeMissing(r.Body())
		if err != nil {
			return nil, err
		}
		e.Version = m.Version
		e.Negative = true
		e.Status = fasthttp.StatusNotFound
		e.TTL = min(ttl, l.negativeTTL)
		e.ContentType = contentTypeJSON
		e.Body = bodyLinkNotFound
		if kind == keys.KindStock {
			e.Body = bodyStockNotFound
		}
		return e, nil
	}
	if kind == keys.KindLink {
		rec, err := decodeLink(id, r.Body())
		if err != nil {
			return nil, err
		}
		e.Version = rec.Version
		e.Status = rec.Redirect
		e.Location = []byte(rec.URL)
		if rec.ExpiresAt != nil {
			e.NotAfter = *rec.ExpiresAt
		}
		return e, nil
	}
	body := r.Body()
	if err := checkStockBody(id, body); err != nil {
		return nil, err
	}
	e.Status = fasthttp.StatusOK
	e.Body = append([]byte(nil), body...)
	e.ContentType = contentTypeJSON // shared: stays in the CPU cache
	if ct := r.Header.ContentType(); len(ct) > 0 && !bytes.Equal(ct, contentTypeJSON) {
		e.ContentType = append([]byte(nil), ct...)
	}
	return e, nil
}
