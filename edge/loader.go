package edge

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/shortstock/shortstock/edge/cache"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/internal/wire"
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
func (l *originLoader) Load(ctx context.Context, kind keys.Kind, id string, minVersion uint64) (*cache.Entry, error) {
	path, endpoint := wire.PathLinks+id, "link"
	if kind == keys.KindStock {
		path, endpoint = wire.PathStock+id, "stock"
	}
	if v := minVersion; v > 0 {
		// After an invalidation: the origin reads its primary if its
		// replica is still behind v.
		path += "?" + wire.QueryMinVersion + "=" + strconv.FormatUint(v, 10)
	}
	var e *cache.Entry
	err := l.oc.do(ctx, endpoint, fasthttp.MethodGet, path, nil, statusOKOrMissing, func(r *fasthttp.Response) error {
		var err error
		e, err = l.render(kind, id, r)
		return err
	})
	return e, err
}

// render turns one origin answer into an entry. It hands cache.NewEntry
// slices of the response (fasthttp reuses its buffers afterwards), which
// NewEntry copies once, straight into the entry.
func (l *originLoader) render(kind keys.Kind, id string, r *fasthttp.Response) (*cache.Entry, error) {
	version, err := parseVersion(r.Header.Peek(wire.HeaderVersion))
	if err != nil {
		return nil, err
	}
	ttl, err := parseTTL(r.Header.Peek(wire.HeaderTTL))
	if err != nil {
		return nil, err
	}
	return l.renderAnswer(kind, id, r.StatusCode(), version, ttl, r.Header.ContentType(), r.Body())
}

// renderPushed turns an answer the origin pushed with a change
// (wire.DecodePushedAnswer) into an entry, exactly as render does the
// same answer fetched.
func (l *originLoader) renderPushed(kind keys.Kind, id string, version uint64, value string) (*cache.Entry, error) {
	status, ttl, body, err := wire.DecodePushedAnswer([]byte(value))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	return l.renderAnswer(kind, id, status, version, min(ttl, maxTTL), contentTypeJSON, body)
}

// renderAnswer turns the parts of one origin answer into an entry; body
// and contentType may alias buffers the caller reuses.
func (l *originLoader) renderAnswer(kind keys.Kind, id string, status int, version uint64, ttl time.Duration, contentType, body []byte) (*cache.Entry, error) {
	a := cache.Answer{Kind: kind, ID: id, Version: version, TTL: ttl}
	switch {
	case status == fasthttp.StatusNotFound:
		m, err := decodeMissing(body)
		if err != nil {
			return nil, err
		}
		a.Version = m.Version
		if m.ValidSince != nil {
			// A link that is not valid yet: its 404 ends when it starts.
			a.NotAfter = *m.ValidSince
		}
		a.Negative = true
		a.Status = fasthttp.StatusNotFound
		a.TTL = min(ttl, l.negativeTTL)
		a.ContentType = contentTypeJSON
		a.Body = bodyLinkNotFound
		if kind == keys.KindStock {
			a.Body = bodyStockNotFound
		}
	case kind == keys.KindLink:
		rec, err := decodeLink(id, body)
		if err != nil {
			return nil, err
		}
		a.Version = rec.Version
		a.Status = rec.Redirect
		a.Location = rec.URL
		if rec.ExpiresAt != nil {
			a.NotAfter = *rec.ExpiresAt
		}
		// Version 1 is the link as created: anything later was edited (or
		// deleted and made again), so its target has changed once and may
		// again.
		a.Bounded = rec.ExpiresAt != nil || rec.Version > 1 || rec.MaxVisits != nil
		a.Ext = encodeLinkExt(&rec)
	default:
		if err := checkStockBody(id, body); err != nil {
			return nil, err
		}
		a.Status = fasthttp.StatusOK
		a.Body = body
		a.ContentType = contentTypeJSON
		if len(contentType) > 0 {
			a.ContentType = contentType
		}
	}
	e, err := cache.NewEntry(a)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	return e, nil
}
