package edge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// originClient calls the region's origins' internal API. It sticks to the
// origin that last answered and moves down the list when one fails, all
// within one time budget per call.
type originClient struct {
	hosts   []originHost
	auth    []byte // "Bearer <token>", or nil
	timeout time.Duration
	clock   func() time.Time
	m       *metrics
	// preferred is the index of the origin that answered last.
	preferred atomic.Int32
	// lastOK is the unix nanoseconds of the last answer from any origin.
	lastOK atomic.Int64
}

type originHost struct {
	base string // "http://host:port", prefixed to request paths
	hc   *fasthttp.HostClient
}

// errStatus is an origin answer with a status the caller did not expect.
type errStatus int

func (e errStatus) Error() string { return fmt.Sprintf("origin answered %d", int(e)) }

func newOriginClient(cfg *Config, m *metrics) *originClient {
	oc := &originClient{timeout: cfg.OriginTimeout, clock: cfg.Clock.Now, m: m}
	if cfg.ClusterToken != "" {
		oc.auth = []byte("Bearer " + cfg.ClusterToken)
	}
	for _, raw := range cfg.Origins {
		addr, tls, _ := parseOrigin(raw) // validated by New
		oc.hosts = append(oc.hosts, originHost{
			base: strings.TrimSuffix(raw, "/"),
			hc: &fasthttp.HostClient{
				Addr:                addr,
				IsTLS:               tls,
				TLSConfig:           cfg.OriginTLS,
				Name:                "shortstock-edge",
				MaxConns:            cfg.MaxConnsPerOrigin,
				MaxIdleConnDuration: 10 * time.Second, // also how long fasthttp's idle-connection cleaner outlives Close
				ReadTimeout:         cfg.OriginTimeout,
				WriteTimeout:        cfg.OriginTimeout,
				// A change page or a stock view is small; a click batch is
				// the largest thing we send, not receive.
				MaxResponseBodySize: 8 << 20,
				// A GET on a keep-alive connection the origin closed (it
				// restarted) is retried on a fresh one, within the deadline.
				MaxIdemponentCallAttempts: 3,
			},
		})
	}
	return oc
}

// do sends one request to the origins in turn until one answers with a
// status accept allows, then hands the response to read. A read error
// (a malformed answer) also moves on to the next origin. The whole call
// fits in the client's timeout, or ctx's deadline if sooner; each attempt
// gets an equal share of what is left, so one hung origin cannot eat the
// budget of the others.
//
// The budget and the latency are wall-clock time, not Config.Clock: they
// are network deadlines that fasthttp and ctx enforce in real time.
func (oc *originClient) do(ctx context.Context, endpoint, method, path string, body []byte, accept func(status int) bool, read func(*fasthttp.Response) error) error {
	start := time.Now()
	deadline := start.Add(oc.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)

	n := len(oc.hosts)
	first := int(oc.preferred.Load())
	var errs []error
	for i := range n {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		idx := (first + i) % n
		h := &oc.hosts[idx]
		left := time.Until(deadline)
		if left <= 0 {
			errs = append(errs, fmt.Errorf("%s: %w", h.base, fasthttp.ErrTimeout))
			break
		}
		share := left / time.Duration(n-i)
		req.Reset()
		resp.Reset()
		req.Header.SetMethod(method)
		req.SetRequestURI(h.base + path)
		if oc.auth != nil {
			req.Header.SetBytesV("Authorization", oc.auth)
		}
		if body != nil {
			req.Header.SetContentType("application/json")
			req.SetBodyRaw(body)
		}
		t := time.Now()
		err := h.hc.DoTimeout(req, resp, share)
		if err == nil && !accept(resp.StatusCode()) {
			err = errStatus(resp.StatusCode())
		}
		if err == nil {
			err = read(resp)
		}
		oc.m.originLatency.WithLabelValues(endpoint).Observe(time.Since(t).Seconds())
		oc.m.originCalls.WithLabelValues(endpoint).Inc()
		if err == nil {
			oc.preferred.Store(int32(idx))
			oc.lastOK.Store(oc.clock().UnixNano())
			return nil
		}
		oc.m.originErrors.WithLabelValues(endpoint).Inc()
		errs = append(errs, fmt.Errorf("%s: %w", h.base, err))
	}
	return fmt.Errorf("%w: %w", ErrOrigin, errors.Join(errs...))
}

// answeredWithin reports whether an origin answered in the last d.
func (oc *originClient) answeredWithin(d time.Duration) bool {
	last := oc.lastOK.Load()
	return last != 0 && oc.clock().UnixNano()-last <= int64(d)
}

func (oc *originClient) close() {
	for _, h := range oc.hosts {
		h.hc.CloseIdleConnections()
	}
}

func statusOK(s int) bool          { return s == fasthttp.StatusOK }
func statusNoContent(s int) bool   { return s == fasthttp.StatusNoContent || s == fasthttp.StatusOK }
func statusOKOrMissing(s int) bool { return s == fasthttp.StatusOK || s == fasthttp.StatusNotFound }
