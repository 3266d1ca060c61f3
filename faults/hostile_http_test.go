package faults

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/testutil"
	"github.com/shortstock/shortstock/internal/wire"
	"github.com/shortstock/shortstock/origin"
	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/topology"
)

// countingOrigin is a real in-process origin behind a reverse proxy that
// counts the edge's lookups (fetches of a link or a stock view), the calls
// hostile input must never cause.
type countingOrigin struct {
	node    *topology.OriginNode
	url     string // the proxy, which the edge is given
	fetches atomic.Int64
	mu      sync.Mutex
	paths   []string
}

func startCountingOrigin(t *testing.T) *countingOrigin {
	t.Helper()
	st, err := embedded.Open(embedded.DefaultConfig(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	oc := origin.DefaultConfig()
	oc.Region, oc.Store, oc.AdminKeys = "hostile", st, []string{adminKey}
	oc.ClusterToken = wire.ClusterToken([]byte(clusterSecret))
	node, err := topology.StartOrigin(topology.OriginOptions{Origin: oc, Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	co := &countingOrigin{node: node}
	target, _ := url.Parse(node.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, wire.PathLinks) || strings.HasPrefix(r.URL.Path, wire.PathStock) {
			co.fetches.Add(1)
			co.mu.Lock()
			co.paths = append(co.paths, r.URL.Path)
			co.mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	co.url = "http://" + ln.Addr().String()
	t.Cleanup(func() {
		_ = srv.Close()
		_ = node.Shutdown(t.Context())
		_ = st.Close()
	})
	return co
}

func (c *countingOrigin) fetched() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.paths)
}

// TestHostileHTTPAtTheEdge writes the smuggling and malformed-request
// corpus over raw TCP to a real edge process, each case on its own
// connection, all at once. Every answer must have an acceptable status,
// ambiguous framing must close the connection (no smuggled request is ever
// answered), nothing may take longer than its bound, no case may make the
// edge call its origin, and the edge must still be healthy afterwards. A
// closing thundering herd (200 concurrent misses for one code) must cost
// one origin lookup.
func TestHostileHTTPAtTheEdge(t *testing.T) {
	co := startCountingOrigin(t)
	api := newAdmin(t, co.node.URL, 5*time.Second)
	api.must(t, "POST", "/v1/links", `{"url":"https://e.example/abc","code":"abc"}`)
	api.must(t, "PUT", "/v1/stock/SKU-1/w", `{"on_hand":3}`)

	addr := testutil.FreeAddr(t)
	edgeURL := "http://" + addr
	ep := startProc(t, "edge", commonEnv(), "edge", "--listen", addr, "--origin", co.url, "--heads-poll", "0", "--region", "hostile")
	waitHTTP(t, edgeURL+"/_/healthz", 20*time.Second, ep)
	for _, p := range []string{"/abc", "/v1/stock/SKU-1"} {
		if rd := readEdge(edgeURL, p); !rd.served() {
			t.Fatalf("warming %s: %v", p, rd)
		}
	}
	before := co.fetches.Load()

	f := newFigures("hostile_http")
	defer f.report(t)
	cases := corpus()
	results := make([]rawResult, len(cases))
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = exchange(addr, c, time.Second)
		}()
	}
	wg.Wait()

	var wrong, kept, smuggledAnswers, slow int
	var slowest time.Duration
	for i, c := range cases {
		r := results[i]
		want := max(c.answers, 1)
		limit := time.Second
		if c.slow {
			limit = 6 * time.Second // ReadTimeout 5 s, plus scheduling
		}
		problem := ""
		switch {
		case r.err != nil || len(r.statuses) == 0:
			problem = fmt.Sprintf("no answer (err %v)", r.err)
			wrong++
		case !slices.Contains(c.allow, r.statuses[0]):
			problem = fmt.Sprintf("status %d, want one of %v", r.statuses[0], c.allow)
			wrong++
		}
		if c.answers > 1 && len(r.statuses) != c.answers {
			problem += fmt.Sprintf(" %d answers, want %d", len(r.statuses), c.answers)
			wrong++
		} else if len(r.statuses) > want {
			problem += fmt.Sprintf(" %d answers: a smuggled request was served %v", len(r.statuses), r.statuses)
			smuggledAnswers++
		}
		if c.close && !r.closed {
			problem += " connection left open"
			kept++
		}
		if r.first > limit {
			problem += fmt.Sprintf(" first answer after %v", r.first)
			slow++
		}
		if !c.slow {
			slowest = max(slowest, r.first)
		}
		if problem != "" {
			t.Logf("%s: %s", c.name, problem)
		}
	}
	originCalls := co.fetches.Load() - before
	if originCalls > 0 {
		t.Logf("origin lookups caused by the corpus: %v", co.fetched()[before:])
	}
	crashed := 0
	if rd := readEdge(edgeURL, "/_/healthz"); ep.exited() || rd.status != http.StatusOK {
		crashed = 1
		t.Logf("edge after the corpus: %v\n%s", rd, ep.logs.tail(30))
	}
	if rd := readEdge(edgeURL, "/abc"); rd.status != http.StatusFound {
		crashed = 1
		t.Logf("edge no longer redirects /abc: %v", rd)
	}
	// A thundering herd for one code no edge has cached: misses are
	// coalesced, so the origin sees one lookup (guarantee 6).
	api.must(t, "POST", "/v1/links", `{"url":"https://e.example/herd","code":"herd"}`)
	herdBefore := co.fetches.Load()
	var herd sync.WaitGroup
	var herdBad atomic.Int64
	for range 200 {
		herd.Add(1)
		go func() {
			defer herd.Done()
			if rd := readEdge(edgeURL, "/herd"); rd.status != http.StatusFound {
				herdBad.Add(1)
			}
		}()
	}
	herd.Wait()
	herdCalls := co.fetches.Load() - herdBefore

	f.count("cases", len(cases))
	f.zero("wrong_status", int64(wrong))
	f.zero("smuggled_answers", int64(smuggledAnswers))
	f.zero("left_open_after_bad_framing", int64(kept))
	f.zero("over_time", int64(slow))
	f.zero("origin_calls", originCalls)
	f.zero("crashes", int64(crashed))
	f.dur("slowest_answer", slowest)
	f.count("herd_requests", 200)
	f.count("herd_origin_calls", herdCalls)
	f.zero("herd_extra_origin_calls", max(0, herdCalls-1))
	f.zero("herd_wrong_answers", herdBad.Load())
}
