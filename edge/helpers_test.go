package edge

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/shortstock/shortstock/docs/openapitest"
)

// exchange turns a fasthttp request and its answer into what the spec
// checker reads.
func exchange(req *fasthttp.Request, resp *fasthttp.Response) openapitest.Exchange {
	x := openapitest.Exchange{
		Method: string(req.Header.Method()), Path: string(req.URI().Path()), RawQuery: string(req.URI().QueryString()),
		Header: http.Header{}, Body: append([]byte(nil), req.Body()...),
		Status: resp.StatusCode(), RespHeader: http.Header{}, RespBody: append([]byte(nil), resp.Body()...),
	}
	for k, v := range req.Header.All() {
		x.Header.Add(string(k), string(v))
	}
	for k, v := range resp.Header.All() {
		x.RespHeader.Add(string(k), string(v))
	}
	return x
}

// testEdge is a real edge Server serving over an in-memory listener, with
// a fasthttp client dialling it.
type testEdge struct {
	t      *testing.T
	srv    *Server
	ln     *fasthttputil.InmemoryListener
	client *fasthttp.Client
	served chan error
	// spec checks every exchange of do against docs/openapi.yaml.
	spec *openapitest.Recorder
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestEdge(t *testing.T, origins []string, mutate ...func(*Config)) *testEdge {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Origins = origins
	cfg.NodeName = "edge-test"
	cfg.Logger = quietLogger()
	cfg.OriginTimeout = 500 * time.Millisecond
	cfg.ClickFlushInterval = 50 * time.Millisecond
	cfg.HeadsPollInterval = 0
	cfg.GapGrace = 10 * time.Millisecond
	for _, m := range mutate {
		m(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	te := &testEdge{t: t, srv: srv, ln: fasthttputil.NewInmemoryListener(), served: make(chan error, 1), spec: openapitest.Shared(t).NewRecorder(t)}
	te.client = &fasthttp.Client{
		Dial:                func(string) (net.Conn, error) { return te.ln.Dial() },
		MaxConnsPerHost:     2000,
		ReadTimeout:         10 * time.Second,
		WriteTimeout:        10 * time.Second,
		MaxIdleConnDuration: time.Minute,
	}
	go func() { te.served <- srv.Serve(te.ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return te
}

type answer struct {
	status  int
	cache   string
	version string
	loc     string
	ctype   string
	allow   string
	body    string
}

func (te *testEdge) do(method, path string) answer {
	te.t.Helper()
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://edge" + path)
	te.roundTrip(req, resp)
	return answer{
		status:  resp.StatusCode(),
		cache:   string(resp.Header.Peek("X-Cache")),
		version: string(resp.Header.Peek("X-Version")),
		loc:     string(resp.Header.Peek("Location")),
		ctype:   string(resp.Header.ContentType()),
		allow:   string(resp.Header.Peek("Allow")),
		body:    string(resp.Body()),
	}
}

func (te *testEdge) get(path string) answer { te.t.Helper(); return te.do("GET", path) }

// roundTrip sends req to the edge and checks the exchange against
// docs/openapi.yaml: every request a test sends through the network goes
// through here, so an undocumented status, header or body fails the test.
func (te *testEdge) roundTrip(req *fasthttp.Request, resp *fasthttp.Response) {
	te.t.Helper()
	if err := te.client.DoTimeout(req, resp, 10*time.Second); err != nil {
		te.t.Fatalf("%s %s: %v", req.Header.Method(), req.URI().Path(), err)
	}
	te.spec.Record(exchange(req, resp))
}

// record checks an exchange that a test served by calling the handler
// directly (allocation tests) against docs/openapi.yaml.
func (te *testEdge) record(ctx *fasthttp.RequestCtx) {
	te.spec.Record(exchange(&ctx.Request, &ctx.Response))
}

// eventually retries f until it returns "" or the deadline passes.
func eventually(t *testing.T, d time.Duration, f func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		msg := f()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
