package main

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/redistest"
)

// The demo on Redis with injected latency between regions: a write at the
// first region's origin reaches that region's edge at once and the other
// region's edge no sooner than the injected delay (both had the code cached
// as a 404, so only an invalidation can change their answer early).
func TestDemoOnRedisWithRegionLatency(t *testing.T) {
	rs, err := redistest.StartServer(redistest.ServerOptions{AppendFsync: "everysec"})
	if err != nil {
		if redistest.InCI() {
			t.Fatalf("redis-server: %v", err)
		}
		t.Skipf("redis-server unavailable: %v", err)
	}
	t.Cleanup(func() { _ = rs.Stop() })

	const delay = 300 * time.Millisecond
	path := filepath.Join(t.TempDir(), "topo.json")
	// everysec without a replica cannot keep every acknowledged write
	// through a machine crash: the origin refuses it unless told to warn.
	p := start(t, nil, "demo", "--regions", "2", "--edges", "1", "--store", "redis", "--redis", rs.Addr,
		"--redis-unsafe-config", "warn", "--region-latency", delay.String(), "--topology-file", path)
	tf := readTopology(t, path, p)
	key = tf.AdminKey
	defer func() { key = adminKey }()
	near, far := tf.Regions[0].Edges[0], tf.Regions[1].Edges[0]
	status := func(edge string) int {
		res, err := noRedirect.Get(edge + "/lat-link")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, e := range []string{near, far} {
		if s := status(e); s != 404 {
			t.Fatalf("%s before the write: %d, want a cached 404", e, s)
		}
	}

	written := time.Now()
	if c, m := call(t, "POST", tf.Regions[0].Origin+"/v1/links", `{"url":"https://example.com/lat","code":"lat-link"}`); c != 201 {
		t.Fatalf("create: %d %v", c, m)
	}
	var nearAt, farAt time.Duration
	for deadline := written.Add(10 * time.Second); (nearAt == 0 || farAt == 0) && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if nearAt == 0 && status(near) == 302 {
			nearAt = time.Since(written)
		}
		if farAt == 0 && status(far) == 302 {
			farAt = time.Since(written)
		}
	}
	t.Logf("redirect served %v after the write in the writing region, %v in the other (injected %v)", nearAt, farAt, delay)
	if nearAt == 0 || farAt == 0 {
		t.Fatalf("not every edge got the write within 10 s: near %v far %v\n%s", nearAt, farAt, p.logs)
	}
	if farAt < delay {
		t.Errorf("the other region's edge had the write after %v, before the injected %v", farAt, delay)
	}
	// Ctrl-C: a clean exit on Redis too.
	p.stopWith(t, syscall.SIGINT, 30*time.Second)
}
