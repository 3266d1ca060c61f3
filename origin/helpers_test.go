package origin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/clock"
	"github.com/shortstock/shortstock/internal/redistest"
	"github.com/shortstock/shortstock/origin"
	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/origin/redisstore"
	"github.com/shortstock/shortstock/origin/store"
)

const testKey = "test-admin-key-0123456789"

// testOrigin is a real origin over real HTTP on loopback, on a real embedded
// store in a temp dir, with a fake clock.
type testOrigin struct {
	t     *testing.T
	url   string
	srv   *origin.Server
	store store.Store
	clock *clock.Fake

	mu        sync.Mutex
	published []change.Change
}

// redisEnv is a standalone Redis and a 3-master cluster for this package's
// tests, started once: the admin API must behave the same on every backend.
var redisEnv *redistest.Env

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		os.Exit(m.Run()) // fuzz targets need no Redis
	}
	redisEnv = redistest.Start(redistest.Options{Standalone: true, Cluster: true})
	// Every goroutine a Server (and the stores under it) starts is stopped
	// and awaited by Close: goleak checks after the Redis servers are gone.
	goleak.VerifyTestMain(stopAfter{m, func() { _ = redisEnv.Stop() }})
}

// stopAfter runs the tests, then stop, before goleak looks.
type stopAfter struct {
	m    *testing.M
	stop func()
}

func (s stopAfter) Run() int {
	defer s.stop()
	return s.m.Run()
}

type backend struct {
	name string
	open func(t *testing.T) store.Store
}

var prefixSeq atomic.Int64

func openRedis(t *testing.T, addrs []string) store.Store {
	cfg := redisstore.DefaultConfig(addrs)
	cfg.KeyPrefix = fmt.Sprintf("ot%d-%d", time.Now().UnixNano()%1e9, prefixSeq.Add(1))
	cfg.ReadTimeout = 5 * time.Second // -race on a shared 2-core machine
	// The same for dials (150 concurrent requests open many connections at
	// once) and for the replicas' WAIT acknowledgements.
	cfg.DialTimeout, cfg.WaitTimeout = 2*time.Second, 2*time.Second
	st, err := redisstore.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

var backends = []backend{
	{"embedded", func(t *testing.T) store.Store {
		st, err := embedded.Open(embedded.DefaultConfig(t.TempDir()))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}},
	{"redis", func(t *testing.T) store.Store { return openRedis(t, []string{redisEnv.Standalone(t)}) }},
	{"redis-cluster", func(t *testing.T) store.Store { return openRedis(t, redisEnv.Cluster(t)) }},
}

// eachBackend runs fn once per storage backend.
func eachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

func newTestOrigin(t *testing.T, b backend, mutate ...func(*origin.Config)) *testOrigin {
	t.Helper()
	return newTestOriginOn(t, b.open(t), mutate...)
}

// newTestOriginOn starts an origin on a given store (a second origin, or
// one that replaces a closed one); the store is closed at cleanup.
func newTestOriginOn(t *testing.T, st store.Store, mutate ...func(*origin.Config)) *testOrigin {
	t.Helper()
	to := &testOrigin{t: t, store: st, clock: clock.NewFake(time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC))}
	cfg := origin.DefaultConfig()
	cfg.Store = st
	cfg.AdminKeys = []string{testKey}
	cfg.Clock = to.clock
	cfg.ExpireInterval = 10 * time.Millisecond
	cfg.TailInterval = 5 * time.Millisecond
	// The tests call the internal API without a token unless they are
	// about the token (TestInternalAPINeedsClusterToken turns this off).
	cfg.InternalInsecure = true
	cfg.Publisher = origin.PublisherFunc(func(c change.Change) {
		to.mu.Lock()
		to.published = append(to.published, c)
		to.mu.Unlock()
	})
	for _, m := range mutate {
		m(&cfg)
	}
	srv, err := origin.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	to.url, to.srv = hs.URL, srv
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
		st.Close()
	})
	return to
}

// publishedKey reports whether a change of key reached the publisher.
func (o *testOrigin) publishedKey(key string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range o.published {
		if c.Key == key {
			return true
		}
	}
	return false
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// do sends a request with the admin key (key "" sends none).
func (o *testOrigin) do(method, path, key string, body any, hdr ...string) resp {
	o.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, o.url+path, rd)
	if err != nil {
		o.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		o.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, b}
}

func (o *testOrigin) admin(method, path string, body any, hdr ...string) resp {
	o.t.Helper()
	return o.do(method, path, testKey, body, hdr...)
}

// expect checks the status and, for errors, the machine code.
func expect(t *testing.T, r resp, status int, code string) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if r.status == http.StatusNoContent {
		return nil
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	m := r.json(t)
	if code != "" {
		if m["error"] != code {
			t.Fatalf("error code %v, want %q; body %s", m["error"], code, r.body)
		}
		if s, _ := m["message"].(string); s == "" {
			t.Fatalf("error without a message: %s", r.body)
		}
	}
	return m
}
