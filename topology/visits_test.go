package topology

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestMaxVisitsAcrossRegions: 2 regions x 2 edges hammer one link with
// max_visits concurrently. The edges together never redirect more than
// max_visits times (each redirects only within the share it leased from
// the origin), and, once every share is used, close to it.
func TestMaxVisitsAcrossRegions(t *testing.T) {
	const maxVisits = 300
	topo := startTopology(t, 2, 2, nil)
	admin(t, topo, topo.Regions[0].Origin.URL, "POST", "/v1/links",
		fmt.Sprintf(`{"url":"https://mv.example/","code":"mv","max_visits":%d}`, maxVisits))
	edges := allEdges(topo)
	var redirects, refused, other atomic.Int64
	var lastRedirect atomic.Int64 // unix ns
	lastRedirect.Store(time.Now().UnixNano())
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, e := range edges {
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					res, err := client.Get(e + "/mv")
					if err != nil {
						other.Add(1)
						continue
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					switch res.StatusCode {
					case 302:
						redirects.Add(1)
						lastRedirect.Store(time.Now().UnixNano())
					case 404:
						refused.Add(1)
						time.Sleep(2 * time.Millisecond)
					default:
						other.Add(1)
					}
				}
			}()
		}
	}
	// Hammer until no edge has redirected for 2 s (every share used or
	// returned, the rest refused), within a deadline.
	deadline := time.Now().Add(60 * time.Second)
	for time.Since(time.Unix(0, lastRedirect.Load())) < 2*time.Second && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	got := redirects.Load()
	t.Logf("redirects %d of max_visits %d; refused %d; other %d", got, maxVisits, refused.Load(), other.Load())
	if got > maxVisits {
		t.Fatalf("%d redirects, more than max_visits %d", got, maxVisits)
	}
	if got < maxVisits*95/100 {
		t.Fatalf("%d redirects, want close to max_visits %d (at least 95%%)", got, maxVisits)
	}
	if other.Load() > 0 {
		t.Fatalf("%d answers neither 302 nor 404", other.Load())
	}
	// Past the limit every edge answers 404, like an expired link.
	for _, e := range edges {
		res, err := client.Get(e + "/mv")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 404 || res.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%s past the limit: %d %q, want 404 no-store", e, res.StatusCode, res.Header.Get("Cache-Control"))
		}
	}
}
