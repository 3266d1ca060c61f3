package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/shortstock/shortstock/internal/clock"
	"github.com/shortstock/shortstock/internal/wire"
)

const (
	uaChromeWin = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	uaIPhone    = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
	uaIPad      = "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
	uaGooglebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
)

// TestHitPathAllocatesNothingWithAnalytics: TestHitPathAllocatesNothing
// with analytics on and a browser's headers, so every hit is copied into
// the classifier's ring.
func TestHitPathAllocatesNothingWithAnalytics(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	o := newFakeOrigin(t)
	o.putLink("abc1234", "https://example.com/landing?utm=x", 302)
	const runs = 10000
	// A ring that holds every measured hit: a full ring would skip the
	// copy this test is about.
	e := newTestEdge(t, []string{o.url}, func(c *Config) { c.Analytics, c.AnalyticsQueue = true, 4*runs })
	h := e.srv.Handler()
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("GET")
	ctx.Request.SetRequestURI("/abc1234")
	ctx.Request.Header.SetUserAgent(uaChromeWin)
	ctx.Request.Header.SetReferer("https://user:secret@news.example.com:8443/a?b=c")
	serve := func() {
		ctx.Response.Reset()
		h(&ctx)
	}
	serve()
	serve()
	e.record(&ctx)
	if got := string(ctx.Response.Header.Peek("X-Cache")); got != "HIT" {
		t.Fatalf("X-Cache %q, want HIT", got)
	}
	// AllocsPerRun counts every goroutine's allocations. The worker's
	// classification allocates (interned strings, per-hour maps) and is
	// not the hit path's: holding its lock keeps it out of the window. A
	// drain inside the window made this fail on a slower machine.
	an := e.srv.an
	an.consume.Lock()
	before := an.ring.backlog()
	n := testing.AllocsPerRun(runs, serve)
	queued := an.ring.backlog() - before
	an.consume.Unlock()
	if n != 0 {
		t.Fatalf("a redirect hit with analytics allocates %v times per request, want 0", n)
	}
	// AllocsPerRun calls serve once more to warm up.
	if queued != runs+1 || an.sampleEvery.Load() != 1 {
		t.Fatalf("%d of %d hits reached the ring (sampling 1 in %d), want all: the measured path skipped the copy", queued, runs+1, an.sampleEvery.Load())
	}
}

func TestNormalizeReferrer(t *testing.T) {
	long := "https://" + strings.Repeat("a", 300) + ".example/"
	for _, c := range []struct {
		in   string
		cut  bool
		want string
	}{
		{"", false, "direct"},
		{"https://news.example.com/story?id=1", false, "news.example.com"},
		{"https://user:pass@News.Example.COM:8443/x", false, "news.example.com"},
		{"http://www.example.org", false, "example.org"},
		{"https://example.org./", false, "example.org"},
		{"android-app://com.google.android.gm/", false, "com.google.android.gm"},
		{"https://[2001:DB8::1]:443/", false, "[2001:db8::1]"},
		{"http://[fe80::1%25eth0]/", false, "[fe80::1]"},
		{"A://[::% 0]", false, "[::]"},
		{"not a url", false, "invalid"},
		{"/relative/path", false, "invalid"},
		{"https://", false, "invalid"},
		{"https://exa mple.com/", false, "invalid"},
		{"https://host:port/", false, "invalid"},
		{"https://ex\xffample.com/", false, "invalid"},
		{"https://[::1/", false, "invalid"},
		{long, false, "other"},
		{"https://example.com", true, "other"}, // cut off before the host ended
		{"https://a@b@c.example/", false, "c.example"},
	} {
		if got := string(normalizeReferrer([]byte(c.in), c.cut)); got != c.want {
			t.Errorf("normalizeReferrer(%q, %v) = %q, want %q", c.in, c.cut, got, c.want)
		}
	}
}

func TestClassifyAgent(t *testing.T) {
	c := newClassifier(nil)
	for _, x := range []struct{ ua, device, browser string }{
		{uaChromeWin, "desktop", "Chrome"},
		{uaIPhone, "mobile", "Safari"},
		{uaIPad, "tablet", "Safari"},
		{uaGooglebot, "bot", ""},
		{"curl/8.5.0", "bot", ""},
		{"", "unknown", "unknown"},
		{"\x00\x01binary", "bot", ""},
		{"Mozilla/5.0 \xff\xfe", "bot", ""},
	} {
		d, b := c.agent([]byte(x.ua))
		if d != x.device || b != x.browser {
			t.Errorf("agent(%q) = %q, %q; want %q, %q", x.ua, d, b, x.device, x.browser)
		}
	}
}

// FuzzNormalizeReferrer: any Referer gives a short printable name without
// credentials, and never panics.
func FuzzNormalizeReferrer(f *testing.F) {
	for _, s := range []string{"", "https://a.example/", "https://u:p@h.example:1/", "http://[::1]:80/", "x://", "https://" + strings.Repeat("b", 260)} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, ref []byte, cut bool) {
		got := normalizeReferrer(ref, cut)
		if len(got) == 0 || len(got) > wire.MaxDimensionLen {
			t.Fatalf("normalizeReferrer(%q) = %q: empty or too long", ref, got)
		}
		if bytes.IndexByte(got, '@') >= 0 || bytes.IndexByte(got, '/') >= 0 {
			t.Fatalf("normalizeReferrer(%q) = %q keeps userinfo or a path", ref, got)
		}
		if !dimensionPrintable(got) {
			t.Fatalf("normalizeReferrer(%q) = %q is not printable ASCII", ref, got)
		}
		if at := bytes.LastIndexByte(ref, '@'); at > 0 && bytes.Contains(got, ref[:at]) && at > 8 {
			t.Fatalf("normalizeReferrer(%q) = %q keeps what came before @", ref, got)
		}
	})
}

// FuzzClassifyAgent: any User-Agent, however long or binary, classifies
// into a known device class without panicking.
func FuzzClassifyAgent(f *testing.F) {
	for _, s := range []string{uaChromeWin, uaIPhone, uaGooglebot, "", "\x00", strings.Repeat("Mozilla/5.0 ", 40)} {
		f.Add([]byte(s))
	}
	c := newClassifier(nil)
	f.Fuzz(func(t *testing.T, ua []byte) {
		if len(ua) > anMaxUA {
			ua = ua[:anMaxUA] // what the ring keeps
		}
		d, b := c.agent(ua)
		switch d {
		case deviceDesktop, deviceMobile, deviceTablet, deviceTV, deviceBot, unknown:
		default:
			t.Fatalf("agent(%q) device %q", ua, d)
		}
		if len(b) > wire.MaxDimensionLen || !dimensionPrintable([]byte(b)) {
			t.Fatalf("agent(%q) browser %q", ua, b)
		}
	})
}

func dimensionPrintable(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// TestScaledHoursAddUp: when the worker sampled, the classified clicks
// are scaled to the exact count, and every part adds up.
func TestScaledHoursAddUp(t *testing.T) {
	ca := &codeAgg{hours: map[int64]*hourAgg{
		3600: {clicks: 2, bots: 1, referrers: map[string]int64{"a.example": 1, "direct": 1}, devices: map[string]int64{"mobile": 2}},
		7200: {clicks: 3, referrers: map[string]int64{"direct": 3}, devices: map[string]int64{"desktop": 3}},
	}, n: 6}
	humans, hs := codeHours("c", 601, ca)
	var total, hum int64
	for _, h := range hs {
		total += h.Clicks + h.Bots
		hum += h.Clicks
		var refs, devs int64
		for _, n := range h.Referrers {
			refs += n
		}
		for k, n := range h.Devices {
			if k != deviceBot {
				devs += n
			}
		}
		if refs != h.Clicks || devs != h.Clicks || h.Devices[deviceBot] != h.Bots {
			t.Fatalf("hour %+v: breakdowns do not add up to its clicks", h)
		}
	}
	if total != 601 || hum != humans {
		t.Fatalf("scaled to %d clicks (%d humans, reported %d), want 601", total, hum, humans)
	}
	// Unscaled: exactly what was classified.
	humans, hs = codeHours("c", 6, ca)
	if humans != 5 || len(hs) != 2 || hs[0].Bots != 1 || hs[0].Referrers["a.example"] != 1 || hs[1].Clicks != 3 || hs[0].Sampled != 3 {
		t.Fatalf("unscaled: %d humans, %+v", humans, hs)
	}
}

// recordingOrigin answers the click endpoint with what fail says and keeps
// every body it got.
type recordingOrigin struct {
	mu     sync.Mutex
	bodies [][]byte
	fail   bool
	next   http.Handler // everything else; nil: 404
}

func (o *recordingOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != wire.PathClicks {
		if o.next != nil {
			o.next.ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
		return
	}
	b, _ := io.ReadAll(r.Body)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.bodies = append(o.bodies, b)
	if o.fail {
		// The origin may have applied it: the edge cannot tell.
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// TestUnacknowledgedBatchResentUnchanged: a batch the origin did not
// acknowledge goes again byte for byte under its ID, and clicks counted
// meanwhile go in the next batch, under another ID.
func TestUnacknowledgedBatchResentUnchanged(t *testing.T) {
	ro := &recordingOrigin{fail: true}
	hs := httptest.NewServer(ro)
	t.Cleanup(hs.Close)
	e := newTestEdge(t, []string{hs.URL}, func(c *Config) { c.ClickFlushInterval = time.Hour })
	e.srv.clickMu.Lock()
	e.srv.pendingClicks["first"] = 3
	e.srv.clickMu.Unlock()
	e.srv.flushClicks(context.Background())
	e.srv.clickMu.Lock()
	e.srv.pendingClicks["second"] = 2
	e.srv.clickMu.Unlock()
	e.srv.flushClicks(context.Background())
	ro.mu.Lock()
	ro.fail = false
	ro.mu.Unlock()
	e.srv.flushClicks(context.Background()) // the frozen batch, then "second"
	ro.mu.Lock()
	defer ro.mu.Unlock()
	var batches []wire.ClickBatch
	for _, b := range ro.bodies {
		var cb wire.ClickBatch
		if err := json.Unmarshal(b, &cb); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		batches = append(batches, cb)
	}
	if len(ro.bodies) < 4 {
		t.Fatalf("%d posts, want 4 (3 of the first batch, then the second)", len(ro.bodies))
	}
	for i := 1; i < 3; i++ {
		if !bytes.Equal(ro.bodies[i], ro.bodies[0]) {
			t.Fatalf("resend %d differs from the first send:\n%s\n%s", i, ro.bodies[i], ro.bodies[0])
		}
	}
	last := batches[len(batches)-1]
	if batches[0].Counts["first"] != 3 || batches[0].Batch == "" || last.Counts["second"] != 2 || last.Batch == batches[0].Batch {
		t.Fatalf("batches %+v", batches)
	}
}

// TestSamplingKeepsCountsExact: clicks far above the classification
// budget are sampled, yet the counts and the series total stay exact and
// every breakdown adds up to its hour's clicks.
func TestSamplingKeepsCountsExact(t *testing.T) {
	fo := newFakeOrigin(t)
	fo.putLink("samp", "https://example.com/s", 302)
	target, _ := url.Parse(fo.url)
	ro := &recordingOrigin{next: httputil.NewSingleHostReverseProxy(target)}
	hs := httptest.NewServer(ro)
	t.Cleanup(hs.Close)
	e := newTestEdge(t, []string{hs.URL}, func(c *Config) {
		c.Analytics, c.AnalyticsRate, c.ClickFlushInterval = true, 50, time.Hour
	})
	h := e.srv.Handler()
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("GET")
	ctx.Request.SetRequestURI("/samp")
	// Hit until the worker samples (it looks every 10ms; a loaded machine
	// may schedule it late), then some more.
	var n int64
	sampling := int64(-1)
	for deadline := time.Now().Add(30 * time.Second); sampling < 0 || n < sampling+20000; n++ {
		ctx.Request.Header.SetUserAgent([]string{uaIPhone, uaChromeWin, uaIPad}[n%3])
		ctx.Response.Reset()
		h(&ctx)
		if n == 0 {
			e.record(&ctx)
		}
		if ctx.Response.StatusCode() != 302 {
			t.Fatalf("hit %d: %d", n, ctx.Response.StatusCode())
		}
		if sampling < 0 && e.srv.an.sampleEvery.Load() > 1 {
			sampling = n
		}
		if time.Now().After(deadline) {
			t.Fatalf("the classifier never sampled in %d clicks", n)
		}
	}
	e.srv.flushClicks(context.Background())
	e.srv.flushClicks(context.Background()) // what the first held back
	ro.mu.Lock()
	defer ro.mu.Unlock()
	var counts, clicks, bots, sampled int64
	for _, body := range ro.bodies {
		var b wire.ClickBatch
		if err := json.Unmarshal(body, &b); err != nil {
			t.Fatal(err)
		}
		counts += b.Counts["samp"]
		classified := false
		for _, hr := range b.Hours {
			classified = true
			clicks, bots, sampled = clicks+hr.Clicks, bots+hr.Bots, sampled+hr.Sampled
			var dev, br int64
			for _, v := range hr.Devices {
				dev += v
			}
			for _, v := range hr.Browsers {
				br += v
			}
			if dev != hr.Clicks+hr.Bots || br != hr.Clicks {
				t.Fatalf("hour %+v: breakdowns add up to %d devices and %d browsers", hr, dev, br)
			}
		}
		if !classified {
			clicks += b.Counts["samp"] // unclassified: filed by the origin
		}
	}
	if counts != n || clicks+bots != n || bots != 0 {
		t.Fatalf("counts %d, series %d clicks + %d bots; want exactly %d clicks", counts, clicks, bots, n)
	}
	if sampled == 0 || sampled >= n {
		t.Fatalf("%d of %d clicks classified: want a sample", sampled, n)
	}
	t.Logf("%d of %d clicks classified one by one", sampled, n)
}

// TestRingConcurrentProducers: producers racing for slots while the
// consumer drains never hand it a torn slot (code and User-Agent written by
// the same click) and never lose one they published (run it with -race).
func TestRingConcurrentProducers(t *testing.T) {
	a := newAnalytics(64, 1<<30, newClassifier(nil), clock.Real{})
	const producers, each = 4, 5000
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			var ctx fasthttp.RequestCtx
			code := []byte(fmt.Sprintf("p%d", p))
			ctx.Request.Header.SetUserAgent("agent-" + string(code))
			for range each {
				a.offer(&ctx, code, time.Unix(7200, 0))
			}
		})
	}
	got := map[string]int{}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	consume := func() {
		for sl := a.ring.next(); sl != nil; sl = a.ring.next() {
			code, ua := string(sl.code[:sl.codeLen]), string(sl.ua[:sl.uaLen])
			if ua != "agent-"+code || sl.at != 7200 {
				t.Errorf("torn slot: code %q, ua %q, at %d", code, ua, sl.at)
			}
			got[code]++
			a.ring.release(sl)
		}
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		consume()
	}
	consume()
	total := 0
	for _, n := range got {
		total += n
	}
	if uint64(total) != a.ring.tail.Load() {
		t.Fatalf("consumed %d slots, producers published %d", total, a.ring.tail.Load())
	}
	if total == 0 {
		t.Fatal("nothing went through the ring")
	}
}
