package edge

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shortstock/shortstock/docs/openapitest"
	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/wire"
	"github.com/shortstock/shortstock/origin"
	"github.com/shortstock/shortstock/origin/embedded"
)

const realAdminKey = "edge-test-admin-key-0123456789"

// realOrigin is the real origin (package origin over the embedded store)
// served over loopback HTTP. Its changes are handed to the subscribed
// edges as gossip would, unless gossip is cut. Its listener can be killed
// and restarted on the same address, storage intact.
type realOrigin struct {
	t     *testing.T
	srv   *origin.Server
	addr  string
	url   string
	token string
	// spec checks every exchange with the origin against docs/openapi.yaml.
	spec *openapitest.Recorder

	mu      sync.Mutex
	http    *http.Server
	subs    []func(change.Change)
	gossip  atomic.Bool
	running bool
}

func newRealOrigin(t *testing.T, mutate ...func(*origin.Config)) *realOrigin {
	t.Helper()
	st, err := embedded.Open(embedded.DefaultConfig(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	ro := &realOrigin{t: t, token: wire.ClusterToken([]byte("edge-test-secret"))}
	ro.gossip.Store(true)
	cfg := origin.DefaultConfig()
	cfg.Store = st
	cfg.AdminKeys = []string{realAdminKey}
	cfg.ClusterToken = ro.token
	cfg.Logger = quietLogger()
	cfg.TailInterval = 5 * time.Millisecond
	cfg.Publisher = origin.PublisherFunc(func(c change.Change) {
		if !ro.gossip.Load() {
			return
		}
		ro.mu.Lock()
		subs := append([]func(change.Change){}, ro.subs...)
		ro.mu.Unlock()
		for _, f := range subs {
			f(c)
		}
	})
	for _, m := range mutate {
		m(&cfg)
	}
	if ro.srv, err = origin.New(cfg); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ro.addr = ln.Addr().String()
	ro.url = "http://" + ro.addr
	// Registered before the cleanup below, so it reports after the server
	// closed: every admin exchange of the test is checked against the spec.
	ro.spec = openapitest.Shared(t).NewRecorder(t)
	ro.serve(ln)
	t.Cleanup(func() {
		ro.kill()
		ro.srv.Close()
		st.Close()
	})
	return ro
}

func (ro *realOrigin) serve(ln net.Listener) {
	ro.mu.Lock()
	defer ro.mu.Unlock()
	ro.http = &http.Server{Handler: ro.spec.Wrap(ro.srv.Handler()), ReadHeaderTimeout: 5 * time.Second}
	ro.running = true
	go ro.http.Serve(ln) //nolint:errcheck // ErrServerClosed after kill
}

func (ro *realOrigin) kill() {
	ro.mu.Lock()
	defer ro.mu.Unlock()
	if ro.running {
		ro.http.Close()
		ro.running = false
	}
}

func (ro *realOrigin) restart() {
	ro.t.Helper()
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", ro.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		ro.t.Fatalf("restart origin: %v", err)
	}
	ro.serve(ln)
}

// subscribe delivers the origin's changes to an edge, as gossip would.
func (ro *realOrigin) subscribe(e *testEdge) {
	ro.mu.Lock()
	ro.subs = append(ro.subs, e.srv.HandleChange)
	ro.mu.Unlock()
}

func (ro *realOrigin) edge(t *testing.T, mutate ...func(*Config)) *testEdge {
	t.Helper()
	e := newTestEdge(t, []string{ro.url}, append([]func(*Config){func(c *Config) { c.ClusterToken = ro.token }}, mutate...)...)
	ro.subscribe(e)
	return e
}

// admin calls the admin API and returns status and body.
func (ro *realOrigin) admin(method, path string, body any) (int, []byte) {
	ro.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, ro.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+realAdminKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		ro.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func (ro *realOrigin) mustAdmin(method, path string, body any, want int) []byte {
	ro.t.Helper()
	st, b := ro.admin(method, path, body)
	if st != want {
		ro.t.Fatalf("%s %s: %d %s, want %d", method, path, st, b, want)
	}
	return b
}
