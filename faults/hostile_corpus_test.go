package faults

import (
	"strings"
)

// rawCase is one hostile request, written to a fresh connection as is.
type rawCase struct {
	name string
	raw  string
	// allow are the acceptable statuses of the first answer.
	allow []int
	// close: the edge must close the connection after that answer (RFC 9112
	// for ambiguous framing; fasthttp always closes after a parse error).
	close bool
	// answers is how many answers the connection may get (default 1): a
	// second one on a smuggling case means the smuggled request was served.
	answers int
	// slow: the request never completes by the edge's reading of it, so
	// the answer comes when ReadTimeout (5 s) ends the wait.
	slow bool
}

// smuggled is a request hidden after an ambiguous body. It names a code no
// edge has cached, so serving it would also cost an origin call, which the
// test counts.
const smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"

func req(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n\r\n" }

// corpus is the request-smuggling and malformed-input corpus. "/abc" and
// "/v1/stock/SKU-1" are cached by the edge before it runs, so a request
// the edge serves as a lookup costs no origin call either.
func corpus() []rawCase {
	const ok, stock = 302, 200
	bad := []int{400}
	served := []int{ok, 400} // served per RFC (Transfer-Encoding wins, then close) or refused
	return []rawCase{
		// Content-Length and Transfer-Encoding together, both orders, and
		// with the smuggled request after the chunked terminator.
		{name: "cl-te", raw: req("GET /abc HTTP/1.1", "Host: x", "Content-Length: 4", "Transfer-Encoding: chunked") + "0\r\n\r\n" + smuggled, allow: served, close: true},
		{name: "te-cl", raw: req("GET /abc HTTP/1.1", "Host: x", "Transfer-Encoding: chunked", "Content-Length: 40") + "0\r\n\r\n" + smuggled, allow: served, close: true},
		{name: "cl-te-post", raw: req("POST /abc HTTP/1.1", "Host: x", "Content-Length: 4", "Transfer-Encoding: chunked") + "0\r\n\r\n" + smuggled, allow: []int{405, 400}, close: true},
		{name: "te-chunked-body-smuggle", raw: req("GET /abc HTTP/1.1", "Host: x", "Transfer-Encoding: chunked", "Content-Length: 3") + "5\r\nhello\r\n0\r\n\r\n" + smuggled, allow: served, close: true},
		// Duplicate and malformed Content-Length.
		{name: "dup-cl", raw: req("GET /abc HTTP/1.1", "Host: x", "Content-Length: 0", "Content-Length: 40") + smuggled, allow: bad, close: true},
		{name: "dup-cl-same", raw: req("GET /abc HTTP/1.1", "Host: x", "Content-Length: 5", "Content-Length: 5") + "hello" + smuggled, allow: bad, close: true},
		{name: "cl-list", raw: req("GET /abc HTTP/1.1", "Host: x", "Content-Length: 4, 4") + "abcd" + smuggled, allow: bad, close: true},
		{name: "cl-negative", raw: req("GET /abc HTTP/1.1", "Host: x", "Content-Length: -1") + smuggled, allow: bad, close: true},
		{name: "cl-plus", raw: req("GET /abc HTTP/1.1", "Host: x", "Content-Length: +4") + "abcd" + smuggled, allow: bad, close: true},
		{name: "cl-hex", raw: req("GET /abc HTTP/1.1", "Host: x", "Content-Length: 0x4") + "abcd" + smuggled, allow: bad, close: true},
		{name: "cl-overflow", raw: req("GET /abc HTTP/1.1", "Host: x", "Content-Length: 99999999999999999999999"), allow: bad, close: true},
		// Transfer-Encoding on HTTP/1.0 (RFC 9112 6.1: faulty framing).
		{name: "te-http10", raw: req("GET /abc HTTP/1.0", "Host: x", "Transfer-Encoding: chunked") + "0\r\n\r\n" + smuggled, allow: bad, close: true},
		{name: "te-http10-cl", raw: req("GET /abc HTTP/1.0", "Host: x", "Transfer-Encoding: chunked", "Content-Length: 5") + "0\r\n\r\n" + smuggled, allow: bad, close: true},
		// Obfuscated Transfer-Encoding.
		{name: "te-xchunked", raw: req("GET /abc HTTP/1.1", "Host: x", "Transfer-Encoding: xchunked", "Content-Length: 4") + "0\r\n\r\n" + smuggled, allow: []int{400, 501}, close: true},
		{name: "te-space-before-colon", raw: req("GET /abc HTTP/1.1", "Host: x", "Transfer-Encoding : chunked", "Content-Length: 4") + "0\r\n\r\n" + smuggled, allow: bad, close: true},
		{name: "te-list", raw: req("GET /abc HTTP/1.1", "Host: x", "Transfer-Encoding: chunked, identity", "Content-Length: 4") + "0\r\n\r\n" + smuggled, allow: []int{400, 501}, close: true},
		{name: "te-twice", raw: req("GET /abc HTTP/1.1", "Host: x", "Transfer-Encoding: chunked", "Transfer-Encoding: identity") + "0\r\n\r\n" + smuggled, allow: []int{400, 501}, close: true},
		{name: "te-gzip", raw: req("GET /abc HTTP/1.1", "Host: x", "Transfer-Encoding: gzip"), allow: []int{400, 501}, close: true},
		{name: "te-vtab", raw: req("GET /abc HTTP/1.1", "Host: x", "Transfer-Encoding:\x0bchunked", "Content-Length: 4") + "0\r\n\r\n" + smuggled, allow: bad, close: true},
		{name: "te-tab-cl", raw: req("GET /abc HTTP/1.1", "Host: x", "Transfer-Encoding:\tchunked", "Content-Length: 4") + "0\r\n\r\n" + smuggled, allow: served, close: true},
		{name: "te-case-cl", raw: req("GET /abc HTTP/1.1", "Host: x", "Transfer-Encoding: cHuNkEd", "Content-Length: 4") + "0\r\n\r\n" + smuggled, allow: served, close: true},
		{name: "te-obs-fold", raw: req("GET /abc HTTP/1.1", "Host: x", "Transfer-Encoding:", " chunked", "Content-Length: 4") + "0\r\n\r\n" + smuggled, allow: served, close: true},
		{name: "chunk-size-overflow", raw: req("GET /abc HTTP/1.1", "Host: x", "Transfer-Encoding: chunked") + "ffffffffffffffffff\r\n", allow: []int{400, 413}, close: true},
		{name: "chunk-ext-huge", raw: req("GET /abc HTTP/1.1", "Host: x", "Transfer-Encoding: chunked") + "4;" + strings.Repeat("a", 10000) + "\r\nabcd\r\n0\r\n\r\n" + smuggled, allow: []int{ok, 400, 413}, close: true},
		// Line endings: bare LF and bare CR.
		{name: "bare-lf", raw: "GET /abc HTTP/1.1\nHost: x\n\n", allow: []int{ok, 400, 408}, close: true, slow: true},
		{name: "bare-lf-te", raw: "GET /abc HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nX-Pad: y\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, allow: served, close: true},
		{name: "bare-cr", raw: "GET /abc HTTP/1.1\rHost: x\r\n\r\n", allow: bad, close: true},
		// Sizes: header count, header size, URI size -> 431; body -> 413.
		{name: "5000-headers", raw: req("GET /abc HTTP/1.1", "Host: x", strings.TrimSuffix(strings.Repeat("X-A: b\r\n", 5000), "\r\n")), allow: []int{431}, close: true},
		{name: "70k-header", raw: req("GET /abc HTTP/1.1", "Host: x", "X-Big: "+strings.Repeat("a", 70000)), allow: []int{431}, close: true},
		{name: "10k-uri", raw: req("GET /"+strings.Repeat("a", 10000)+" HTTP/1.1", "Host: x"), allow: []int{414, 431}, close: true},
		{name: "100k-body", raw: req("GET /abc HTTP/1.1", "Host: x", "Content-Length: 100000") + strings.Repeat("a", 100000), allow: []int{413}, close: true},
		{name: "80k-chunked-body", raw: req("GET /abc HTTP/1.1", "Host: x", "Transfer-Encoding: chunked") + strings.Repeat("1000\r\n"+strings.Repeat("a", 4096)+"\r\n", 20) + "0\r\n\r\n", allow: []int{413}, close: true},
		{name: "expect-100-huge", raw: req("POST /abc HTTP/1.1", "Host: x", "Expect: 100-continue", "Content-Length: 100000000"), allow: []int{413, 417}, close: true},
		// Methods: the public API is GET and HEAD.
		{name: "post", raw: req("POST /abc HTTP/1.1", "Host: x", "Content-Length: 0"), allow: []int{405}},
		{name: "put-stock", raw: req("PUT /v1/stock/SKU-1 HTTP/1.1", "Host: x", "Content-Length: 2") + "{}", allow: []int{405}},
		{name: "patch", raw: req("PATCH /abc HTTP/1.1", "Host: x", "Content-Length: 0"), allow: []int{405}},
		{name: "delete", raw: req("DELETE /abc HTTP/1.1", "Host: x"), allow: []int{405}},
		{name: "options", raw: req("OPTIONS /abc HTTP/1.1", "Host: x"), allow: []int{405}},
		{name: "trace", raw: req("TRACE /abc HTTP/1.1", "Host: x"), allow: []int{405}},
		{name: "connect", raw: req("CONNECT example.com:443 HTTP/1.1", "Host: example.com:443"), allow: []int{400, 404, 405}},
		{name: "made-up-method", raw: req("BREW /abc HTTP/1.1", "Host: x"), allow: []int{405}},
		{name: "nul-in-method", raw: req("G\x00T /abc HTTP/1.1", "Host: x"), allow: bad, close: true},
		// Paths: traversal, encoded slashes, NUL, control characters.
		{name: "dot-dot", raw: req("GET /../../etc/passwd HTTP/1.1", "Host: x"), allow: []int{400, 404}},
		{name: "encoded-dot-dot", raw: req("GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1", "Host: x"), allow: []int{400, 404}},
		{name: "encoded-slash-code", raw: req("GET /abc%2fdef HTTP/1.1", "Host: x"), allow: []int{400, 404}},
		{name: "encoded-slash-sku", raw: req("GET /v1/stock/SKU-1%2f..%2f..%2fetc HTTP/1.1", "Host: x"), allow: []int{400, 404}},
		{name: "encoded-backslash", raw: req("GET /..%5c..%5cwindows%5cwin.ini HTTP/1.1", "Host: x"), allow: []int{400, 404}},
		{name: "encoded-nul", raw: req("GET /abc%00 HTTP/1.1", "Host: x"), allow: []int{400, 404}},
		{name: "encoded-nul-sku", raw: req("GET /v1/stock/SKU-1%00.json HTTP/1.1", "Host: x"), allow: []int{400, 404}},
		{name: "raw-nul", raw: req("GET /ab\x00c HTTP/1.1", "Host: x"), allow: []int{400, 404}},
		{name: "encoded-crlf", raw: req("GET /abc%0d%0aSet-Cookie:%20x=1 HTTP/1.1", "Host: x"), allow: []int{400, 404}},
		{name: "overlong-utf8", raw: req("GET /%c0%ae%c0%ae/x HTTP/1.1", "Host: x"), allow: []int{400, 404}},
		{name: "dot-file", raw: req("GET /.env HTTP/1.1", "Host: x"), allow: []int{400, 404}},
		{name: "code-65-chars", raw: req("GET /"+strings.Repeat("a", 65)+" HTTP/1.1", "Host: x"), allow: []int{400, 404}},
		{name: "sku-empty", raw: req("GET /v1/stock/ HTTP/1.1", "Host: x"), allow: []int{400, 404}},
		{name: "internal-api", raw: req("GET /internal/v1/heads HTTP/1.1", "Host: x"), allow: []int{400, 404}},
		{name: "admin-api", raw: req("GET /v1/links/abc HTTP/1.1", "Host: x"), allow: []int{400, 404}},
		// Dot segments are resolved (as nginx and RFC 3986 do) before
		// routing; the result is still a public route of the edge, never
		// anything outside it, and never an origin call.
		{name: "dot-dot-to-metrics", raw: req("GET /v1/stock/../../_/healthz HTTP/1.1", "Host: x"), allow: []int{stock, 400, 404}},
		{name: "dot-dot-to-code", raw: req("GET /x/../abc HTTP/1.1", "Host: x"), allow: []int{ok, 400, 404}},
		// Request line and headers.
		{name: "absolute-uri-other-host", raw: req("GET http://evil.example/abc HTTP/1.1", "Host: x"), allow: []int{ok, 400}},
		{name: "no-host-http11", raw: req("GET /abc HTTP/1.1"), allow: bad, close: true},
		{name: "two-hosts", raw: req("GET /abc HTTP/1.1", "Host: x", "Host: y"), allow: bad, close: true},
		{name: "http09", raw: "GET /abc\r\n\r\n", allow: bad, close: true},
		{name: "http2-preface", raw: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", allow: []int{400, 405, 505}, close: true},
		{name: "http-9.9", raw: req("GET /abc HTTP/9.9", "Host: x"), allow: []int{ok, 400, 505}},
		{name: "space-in-header-name", raw: req("GET /abc HTTP/1.1", "Host: x", "Content Length: 4"), allow: []int{ok, 400}},
		{name: "header-no-colon", raw: req("GET /abc HTTP/1.1", "Host: x", "Garbage"), allow: bad, close: true},
		{name: "header-value-nul", raw: req("GET /abc HTTP/1.1", "Host: x", "X-A: a\x00b"), allow: bad, close: true},
		{name: "header-value-cr", raw: req("GET /abc HTTP/1.1", "Host: x", "X-A: a\rTransfer-Encoding: chunked"), allow: bad, close: true},
		{name: "partial-then-silence", raw: "GET /abc HTTP/1.1\r\nHost: x\r\n", allow: []int{400, 408}, close: true, slow: true},
		// Plenty of well-formed pipelined requests: every one answered from
		// the cache, in order, on one connection.
		{name: "pipeline-200", raw: strings.Repeat(req("GET /abc HTTP/1.1", "Host: x"), 200), allow: []int{ok}, answers: 200},
	}
}
