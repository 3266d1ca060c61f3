package edge

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestCloseStopsEveryGoroutine: after Close no goroutine of the edge, its
// cache, ristretto or singleflight is left. Two of fasthttp's own outlive
// it by a sleep each and then exit: the server worker pool's cleaner
// (MaxIdleWorkerDuration, 10s) and the HostClient's idle-connection
// cleaner (MaxIdleConnDuration, 10s); neither can be stopped from outside.
func TestCloseStopsEveryGoroutine(t *testing.T) {
	o := newFakeOrigin(t)
	o.putLink("g", "https://example.com", 302)
	e := newTestEdge(t, []string{o.url}, func(c *Config) { c.HeadsPollInterval = 20 * time.Millisecond })
	e.get("/g")
	e.get("/g")
	o.kill() // stale refreshes in the background, too
	time.Sleep(50 * time.Millisecond)
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	<-e.served
	eventually(t, 2*time.Second, func() string {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		for _, g := range strings.Split(stacks, "\n\n") {
			if strings.Contains(g, "shortstock/shortstock/edge") && !strings.Contains(g, "_test.go") ||
				strings.Contains(g, "ristretto") || strings.Contains(g, "singleflight") {
				return "goroutine left after Close:\n" + g
			}
		}
		return ""
	})
}
