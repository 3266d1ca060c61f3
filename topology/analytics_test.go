package topology

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shortstock/shortstock/edge"
	"github.com/shortstock/shortstock/internal/wire"
	"github.com/shortstock/shortstock/origin"
	"github.com/shortstock/shortstock/origin/embedded"
)

const (
	uaChrome    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	uaIPhone    = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
	uaIPad      = "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
	uaGooglebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
)

// lossyProxy forwards an edge's internal API calls to its origin, but
// answers the first click batch with a 503 after the origin applied it:
// the answer is lost, so the edge must retry the same batch.
type lossyProxy struct {
	rp      *httputil.ReverseProxy
	mu      sync.Mutex
	lost    bool
	batches map[string]int // batch ID -> times the origin got it
}

func (p *lossyProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != wire.PathClicks {
		p.rp.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var b wire.ClickBatch
	_ = json.Unmarshal(body, &b)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	p.rp.ServeHTTP(rec, r)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.batches[b.Batch]++
	if rec.Code == http.StatusNoContent && !p.lost && b.Counts["an-link"] > 0 {
		p.lost = true
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(rec.Code)
}

// TestAnalyticsOverRealEdges: clicks with known referrers, devices and
// bots through two real edges reach a real origin's stats exactly, and a
// batch whose answer was lost (retried by the edge) is counted once.
func TestAnalyticsOverRealEdges(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := embedded.Open(embedded.DefaultConfig(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	const key = "analytics-admin-key-0123456789"
	oc := origin.DefaultConfig()
	oc.Store, oc.AdminKeys = st, []string{key}
	on, err := StartOrigin(OriginOptions{Origin: oc, Listen: "127.0.0.1:0", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(on.URL)
	proxy := &lossyProxy{rp: httputil.NewSingleHostReverseProxy(target), batches: map[string]int{}}
	ps := httptest.NewServer(proxy)
	var edges []*EdgeNode
	for i, o := range []string{ps.URL, on.URL} {
		ec := edge.DefaultConfig()
		ec.NodeName, ec.Origins = fmt.Sprintf("edge-%d", i), []string{o}
		ec.Analytics, ec.ClickFlushInterval, ec.HeadsPollInterval = true, 100*time.Millisecond, 0
		en, err := StartEdge(EdgeOptions{Edge: ec, Listen: "127.0.0.1:0", Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		edges = append(edges, en)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for _, e := range edges {
			_ = e.Shutdown(ctx)
		}
		ps.Close()
		_ = on.Shutdown(ctx)
	})

	admin := func(method, path string, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, on.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	if code, b := admin("POST", "/v1/links", `{"url":"https://example.com/launch","code":"an-link"}`); code != 201 {
		t.Fatalf("create: %d %s", code, b)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	click := func(e *EdgeNode, method, ua, ref string, n int) {
		t.Helper()
		for range n {
			req, _ := http.NewRequest(method, e.URL+"/an-link", nil)
			req.Header.Set("User-Agent", ua)
			if ref != "" {
				req.Header.Set("Referer", ref)
			}
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 302 {
				t.Fatalf("%s /an-link: %d", method, res.StatusCode)
			}
		}
	}
	click(edges[0], "GET", uaChrome, "https://user:secret@news.example.com:8443/story?id=1", 3)
	click(edges[0], "GET", uaIPhone, "", 2)
	click(edges[1], "GET", uaIPad, "https://www.social.example/feed", 1)
	click(edges[1], "GET", uaGooglebot, "", 4)
	click(edges[0], "GET", "curl/8.5.0", "https://news.example.com/", 1)
	click(edges[0], "HEAD", uaChrome, "", 5) // checks, not clicks

	type stats struct {
		Clicks     int64            `json:"clicks"`
		Bots       int64            `json:"bots"`
		LinkClicks int64            `json:"link_clicks"`
		Referrers  map[string]int64 `json:"referrers"`
		Devices    map[string]int64 `json:"devices"`
		Browsers   map[string]int64 `json:"browsers"`
		Countries  map[string]int64 `json:"countries"`
		SampleRate float64          `json:"sample_rate"`
		Series     []struct {
			Clicks int64 `json:"clicks"`
			Bots   int64 `json:"bots"`
		} `json:"series"`
	}
	want := stats{
		Clicks: 6, Bots: 5, LinkClicks: 6, SampleRate: 1,
		Referrers: map[string]int64{"news.example.com": 3, "direct": 2, "social.example": 1},
		Devices:   map[string]int64{"desktop": 3, "mobile": 2, "tablet": 1, "bot": 5},
		Browsers:  map[string]int64{"Chrome": 3, "Safari": 3},
		Countries: map[string]int64{"unknown": 6},
	}
	// The lost answer makes the edge resend that batch, which the origin
	// must ignore: wait for the resend before judging the counts.
	resent := func() bool {
		proxy.mu.Lock()
		defer proxy.mu.Unlock()
		for _, n := range proxy.batches {
			if n > 1 {
				return true
			}
		}
		return false
	}
	for wait := time.Now().Add(20 * time.Second); !resent(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(wait) {
			t.Fatal("no batch was resent after a lost answer: the retry path was not exercised")
		}
	}
	var got stats
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, b := admin("GET", "/v1/links/an-link/stats", "")
		got = stats{}
		if code != 200 || json.Unmarshal(b, &got) != nil {
			t.Fatalf("stats: %d %s", code, b)
		}
		series := got.Series
		got.Series = nil
		if reflect.DeepEqual(got, want) {
			var c, bots int64
			for _, p := range series {
				c, bots = c+p.Clicks, bots+p.Bots
			}
			if c != want.Clicks || bots != want.Bots {
				t.Fatalf("series sums to %d clicks and %d bots, want %d and %d", c, bots, want.Clicks, want.Bots)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats\n got %+v\nwant %+v", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Nothing more arrives later (a double count would show up late).
	time.Sleep(300 * time.Millisecond)
	if _, b := admin("GET", "/v1/links/an-link/stats", ""); !bytes.Contains(b, []byte(`"clicks":6,`)) {
		t.Fatalf("stats moved after settling: %s", b)
	}
	code, b := admin("GET", "/v1/stats/top?limit=5", "")
	if code != 200 || !bytes.Contains(b, []byte(`{"code":"an-link","clicks":6}`)) {
		t.Fatalf("top: %d %s", code, b)
	}
}
