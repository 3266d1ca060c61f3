package topology

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/redistest"
	"github.com/shortstock/shortstock/origin"
	"github.com/shortstock/shortstock/origin/redisstore"
	"github.com/shortstock/shortstock/origin/store"
)

// Guarantee 2 through a lossy Redis failover, end to end: an origin on a
// Redis primary with one replica, reached through a proxy that plays the
// failover manager's virtual IP. A link update applied on the primary
// after its replica was cut off reaches every edge, then is lost when the
// primary dies and the replica is promoted. The next update must reach
// every edge again: with versions that restarted from the replica's, its
// invalidation would carry the lost version, edges would keep the lost
// value until their TTL (5 minutes here), and this test fails. Breaking
// the epoch (EPOCH_SPAN = 0 in origin/redisstore/lua/common.lua) fails it.
func TestLossyFailoverEveryEdgeConverges(t *testing.T) {
	if _, err := redistest.FindBinaries(); err != nil {
		if redistest.InCI() {
			t.Fatalf("redis-server: %v", err)
		}
		t.Skipf("redis-server unavailable: %v", err)
	}
	primary, replica, err := redistest.StartPrimaryReplica(redistest.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = primary.Stop(); _ = replica.Stop() })
	proxy, err := redistest.StartProxy(primary.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })

	const ttl = 5 * time.Minute // only an invalidation can bring the new value
	topo := startTopology(t, 1, 2, func(c *Config) {
		c.OpenStore = func(string) (store.Store, error) {
			cfg := redisstore.DefaultConfig([]string{proxy.Addr})
			cfg.KeyPrefix = fmt.Sprintf("fo%d", time.Now().UnixNano()%1e9)
			cfg.ReadTimeout, cfg.WriteTimeout, cfg.WaitTimeout = 5*time.Second, 5*time.Second, time.Second
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return redisstore.New(ctx, cfg)
		}
		c.Origin = func(_ string, oc *origin.Config) { oc.LinkCacheTTL = ttl }
	})
	edges := allEdges(topo)
	originURL := topo.Regions[0].Origin.URL

	write := func(method, path, body string) uint64 {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			req, _ := http.NewRequest(method, originURL+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+topo.AdminKey)
			res, err := client.Do(req)
			if err == nil {
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode < 300 {
					var l struct{ Version uint64 }
					if err := json.Unmarshal(b, &l); err != nil {
						t.Fatal(err)
					}
					return l.Version
				}
				if res.StatusCode != http.StatusServiceUnavailable {
					t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
				}
				err = fmt.Errorf("%d %s", res.StatusCode, b)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// waitURL polls every edge until it redirects /fo to want.
	waitURL := func(want string) {
		t.Helper()
		start := time.Now()
		for _, e := range edges {
			var last string
			for {
				res, err := client.Get(e + "/fo")
				if err == nil {
					last = res.Header.Get("Location") + " v" + res.Header.Get("X-Version")
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.Header.Get("Location") == want {
						break
					}
				}
				if time.Since(start) > 15*time.Second {
					t.Fatalf("%s still redirects to %s, not %s, %v after the write", e, last, want, time.Since(start))
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
	}

	write("POST", "/v1/links", `{"url":"https://e.example/1","code":"fo"}`)
	waitURL("https://e.example/1")

	// Cut the replica off: the next update lives on the primary only, and
	// every edge serves it.
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(dead.Addr().String(), ":")
	dead.Close()
	if _, err := redistest.Do(replica.Addr, 2*time.Second, "REPLICAOF", host, port); err != nil {
		t.Fatal(err)
	}
	lost := write("PATCH", "/v1/links/fo", `{"url":"https://e.example/2-lost"}`)
	waitURL("https://e.example/2-lost")

	// The failover loses it.
	if err := primary.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := redistest.Promote(replica); err != nil {
		t.Fatal(err)
	}
	proxy.Switch(replica.Addr)

	next := write("PATCH", "/v1/links/fo", `{"url":"https://e.example/3"}`)
	if next <= lost {
		t.Errorf("version %d after the failover, the lost write had %d", next, lost)
	}
	waitURL("https://e.example/3")
	t.Logf("lost version %d, next %d: every edge converged", lost, next)
}
