// Package openapitest checks HTTP traffic against docs/openapi.yaml in
// tests, so that the spec and the code cannot drift: wrap a server's
// handler with Wrap and every request the test suite sends through it, and
// every answer, is validated; each violation fails the test at cleanup and
// names the route, method and status.
//
// The rules, in order:
//
//   - paths under /internal/ (the edges' private API) and /console (the
//     admin console's pages) are not checked;
//   - a route the spec does not document may only be refused: 404
//     not_found, 405 method_not_allowed with Allow, 400 for a path that
//     cannot be read one way (an escaped slash), or the 401/429 the admin
//     API gives before it looks at the path;
//   - request bodies are read as JSON whatever their Content-Type, as the
//     origin reads them (curl -d sends a form type);
//   - a request the spec says is invalid must be refused (4xx): the code
//     may be stricter than the spec, never laxer;
//   - every answer must be documented: its status for that operation, its
//     required headers, and its body against the schema (responses are
//     closed objects, so an undocumented field fails too).
//
// The validator is built once per process (building it compiles every
// schema); Wrap costs a body copy and a validation per request.
package openapitest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/paths"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"

	"github.com/shortstock/shortstock/docs"
)

// Checker validates exchanges against the spec. It is safe for concurrent
// use; get the process-wide one with Shared.
type Checker struct {
	model *v3.Document
	v     validator.Validator
	mu    sync.Mutex // the validator's caches are not documented as concurrent-safe
}

var shared = sync.OnceValues(New)

// Shared returns the process-wide Checker, building it on first use; a
// spec that does not load fails t.
func Shared(t testing.TB) *Checker {
	t.Helper()
	c, err := shared()
	if err != nil {
		t.Fatalf("openapitest: %v", err)
	}
	return c
}

// New parses docs/openapi.yaml, checks it against the OpenAPI 3.1 schema
// and builds a validator.
func New() (*Checker, error) {
	doc, err := libopenapi.NewDocument(docs.OpenAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("docs/openapi.yaml: %w", err)
	}
	m, err := doc.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("docs/openapi.yaml: %w", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		return nil, fmt.Errorf("docs/openapi.yaml: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		return nil, fmt.Errorf("docs/openapi.yaml is not a valid OpenAPI 3.1 document: %s", describe(verrs))
	}
	return &Checker{model: &m.Model, v: v}, nil
}

// Exchange is one request and its answer, as the server saw them.
type Exchange struct {
	Method     string
	Path       string // as sent, escaped
	RawQuery   string
	Header     http.Header
	Body       []byte
	Status     int
	RespHeader http.Header
	RespBody   []byte
}

// Check returns the violations of one exchange (none: nil).
func (c *Checker) Check(x Exchange) []string {
	for _, p := range skipPrefixes {
		if strings.HasPrefix(x.Path, p) {
			return nil
		}
	}
	req := x.request(x.Method)
	where := x.Method + " " + x.Path
	pathItem, perrs, tmpl := paths.FindPath(req, c.model, nil)
	if pathItem == nil {
		if refusal(x) {
			return nil
		}
		return []string{fmt.Sprintf("undocumented route %s answered %d (add the path to docs/openapi.yaml): %s", where, x.Status, short(x.RespBody))}
	}
	method := x.Method
	head := false
	if pathItem.GetOperations().GetOrZero(strings.ToLower(method)) == nil {
		if method == http.MethodHead && pathItem.Get != nil {
			head, method = true, http.MethodGet // net/http serves HEAD for GET routes
		} else if refusal(x) {
			return nil
		} else {
			return []string{fmt.Sprintf("undocumented operation %s (path %s) answered %d (add it to docs/openapi.yaml)", where, tmpl, x.Status)}
		}
	}
	_ = perrs
	where = x.Method + " " + tmpl
	var out []string
	// The code may refuse more than the spec does, never accept less.
	c.mu.Lock()
	defer c.mu.Unlock()
	if x.Status < 400 {
		if _, errs := c.v.ValidateHttpRequestWithPathItem(x.request(method), pathItem, tmpl); len(errs) > 0 {
			out = append(out, fmt.Sprintf("%s: the spec refuses this request but the server answered %d: %s", where, x.Status, describe(errs)))
		}
	}
	if x.Status == http.StatusMethodNotAllowed && x.RespHeader.Get("Allow") != "" {
		return out // e.g. HEAD where only GET is documented under another server
	}
	op := pathItem.GetOperations().GetOrZero(strings.ToLower(method))
	if head {
		if !documented(op, x.Status) {
			out = append(out, fmt.Sprintf("%s: status %d is not documented for GET %s (add it to docs/openapi.yaml)", where, x.Status, tmpl))
		}
		return out
	}
	resp := &http.Response{StatusCode: x.Status, Header: x.RespHeader, Body: io.NopCloser(bytes.NewReader(x.RespBody)), Request: req}
	if _, errs := c.v.GetResponseBodyValidator().ValidateResponseBodyWithPathItem(x.request(method), resp, pathItem, tmpl); len(errs) > 0 {
		out = append(out, fmt.Sprintf("%s answered %d, which the spec does not allow: %s; body %s", where, x.Status, describe(errs), short(x.RespBody)))
	}
	return out
}

// skipPrefixes are paths outside the API contract: the edges' internal
// API and the admin console's pages and assets (it calls the /v1/ API,
// which is checked).
var skipPrefixes = []string{"/internal/", "/console"}

// documented: status has a response in op (exact, range or default).
func documented(op *v3.Operation, status int) bool {
	if op == nil || op.Responses == nil {
		return false
	}
	s := strconv.Itoa(status)
	return op.Responses.Codes.GetOrZero(s) != nil || op.Responses.Codes.GetOrZero(s[:1]+"XX") != nil || op.Responses.Default != nil
}

// refusal: an answer any path may give without being documented there.
func refusal(x Exchange) bool {
	switch x.Status {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusUnauthorized, http.StatusTooManyRequests:
	case http.StatusMethodNotAllowed:
		if x.RespHeader.Get("Allow") == "" {
			return false
		}
	default:
		return false
	}
	return x.Method == http.MethodHead || bytes.HasPrefix(bytes.TrimSpace(x.RespBody), []byte(`{"error":`))
}

func (x Exchange) request(method string) *http.Request {
	u := x.Path
	if x.RawQuery != "" {
		u += "?" + x.RawQuery
	}
	r, err := http.NewRequest(method, "http://shortstock.test"+u, bytes.NewReader(x.Body))
	if err != nil {
		// A method net/http refuses (FuzzHandler sends any bytes) or a
		// path it cannot parse: build the request by hand, as it came,
		// so the check still sees the server's answer to it.
		r = &http.Request{
			Method: method, Host: "shortstock.test", Body: io.NopCloser(bytes.NewReader(x.Body)),
			URL: &url.URL{Scheme: "http", Host: "shortstock.test", Path: x.Path, RawQuery: x.RawQuery},
		}
	}
	r.Header = x.Header.Clone()
	if r.Header == nil {
		r.Header = http.Header{}
	}
	if len(x.Body) > 0 && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

func describe(errs []*verrors.ValidationError) string {
	var parts []string
	for _, e := range errs {
		s := e.Message
		if e.Reason != "" && e.Reason != e.Message {
			s += " (" + e.Reason + ")"
		}
		for _, f := range e.SchemaValidationErrors {
			s += "; " + f.FieldPath + ": " + f.Reason
		}
		parts = append(parts, s)
	}
	slices.Sort(parts)
	return strings.Join(slices.Compact(parts), " | ")
}

func short(b []byte) string {
	if len(b) > 300 {
		return strconv.Quote(string(b[:300])) + "..."
	}
	return strconv.Quote(string(b))
}

// Recorder collects the violations seen by handlers wrapped for one test.
type Recorder struct {
	c  *Checker
	mu sync.Mutex
	v  []string
}

// NewRecorder returns a Recorder that fails t, at its cleanup, with every
// violation recorded (each distinct one once).
func (c *Checker) NewRecorder(t testing.TB) *Recorder {
	r := &Recorder{c: c}
	t.Cleanup(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, s := range slices.Compact(slices.Sorted(slices.Values(r.v))) {
			t.Errorf("openapi: %s", s)
		}
	})
	return r
}

// Record checks x and keeps its violations.
func (r *Recorder) Record(x Exchange) {
	if v := r.c.Check(x); len(v) > 0 {
		r.mu.Lock()
		r.v = append(r.v, v...)
		r.mu.Unlock()
	}
}

// Wrap returns h with every exchange checked against the spec; the
// violations fail t at its cleanup. Register it before the server's own
// cleanup (httptest.Server.Close waits for handlers) so that the last
// exchanges are in when it reports.
func Wrap(t testing.TB, h http.Handler) http.Handler {
	t.Helper()
	return Shared(t).NewRecorder(t).Wrap(h)
}

// Wrap returns h with every exchange recorded.
func (r *Recorder) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body []byte
		if req.Body != nil && req.Body != http.NoBody {
			// Capped like the servers' own caps, plus one byte to see "over".
			body, _ = io.ReadAll(io.LimitReader(req.Body, 1<<20))
			req.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), req.Body))
		}
		tw := &teeWriter{ResponseWriter: w}
		h.ServeHTTP(tw, req)
		status := tw.status
		if status == 0 {
			status = http.StatusOK
		}
		r.Record(Exchange{
			Method: req.Method, Path: req.URL.EscapedPath(), RawQuery: req.URL.RawQuery, Header: req.Header, Body: body,
			Status: status, RespHeader: w.Header().Clone(), RespBody: tw.buf.Bytes(),
		})
	})
}

// teeWriter passes an answer through and keeps a copy of it.
type teeWriter struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (w *teeWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *teeWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.buf.Write(b)
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and deadlines (SSE).
func (w *teeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush keeps streaming answers streaming.
func (w *teeWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
