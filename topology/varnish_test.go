package topology

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shortstock/shortstock/edge"
	"github.com/shortstock/shortstock/internal/testutil"
	"github.com/shortstock/shortstock/origin"
	"github.com/shortstock/shortstock/origin/purgehook"
)

// startVarnish runs varnishd with deploy/varnish/shortstock.vcl in front
// of edges on addr, until the test ends.
func startVarnish(t *testing.T, addr string, edges []string, secret string) {
	t.Helper()
	bin, err := exec.LookPath("varnishd")
	if err != nil {
		bin = "/usr/sbin/varnishd"
		if _, err := os.Stat(bin); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("varnishd is not installed (scripts/test installs the Debian packages varnish, varnish-modules, varnish-vmod-digest)")
			}
			t.Skip("varnishd not installed")
		}
	}
	dir, err := os.MkdirTemp("", "shortstock-varnish-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// varnishd's compiler may run as another user: let it read the VCL.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	vcl, err := os.ReadFile("../deploy/varnish/shortstock.vcl")
	if err != nil {
		t.Fatal(err)
	}
	var backends strings.Builder
	var adds strings.Builder
	for i, e := range edges {
		u, _ := url.Parse(e)
		fmt.Fprintf(&backends, "backend edge%d { .host = %q; .port = %q; }\n", i, u.Hostname(), u.Port())
		fmt.Fprintf(&adds, "\tedges.add_backend(edge%d);\n", i)
	}
	backends.WriteString("sub vcl_init {\n\tnew edges = directors.round_robin();\n" + adds.String() + "}\n")
	for name, body := range map[string]string{
		"shortstock.vcl":   string(vcl),
		"backends.vcl":     backends.String(),
		"purge_secret.vcl": fmt.Sprintf("sub shortstock_secret {\n\tset req.http.X-Purge-Key = %q;\n}\n", secret),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := &testutil.LockedBuffer{}
	cmd := exec.CommandContext(ctx, bin, "-F", "-j", "none", "-a", addr, "-f", filepath.Join(dir, "shortstock.vcl"),
		"-n", filepath.Join(dir, "work"), "-s", "malloc,32m", "-p", "default_grace=0", "-p", "thread_pools=1", "-p", "thread_pool_min=10")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("varnishd did not stop")
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := client.Get("http://" + addr + "/_/healthz")
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		select {
		case <-done:
			t.Fatalf("varnishd exited:\n%s", out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("varnish not answering on %s: %v\n%s", addr, err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type viaVarnish struct {
	status          int
	location, cache string
}

func getVia(t *testing.T, addr, path string) viaVarnish {
	t.Helper()
	res, err := client.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return viaVarnish{res.StatusCode, res.Header.Get("Location"), res.Header.Get("X-Varnish-Cache")}
}

func sendPurge(t *testing.T, addr string, hdr map[string]string) int {
	t.Helper()
	req, _ := http.NewRequest("PURGE", "http://"+addr+"/", nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// TestVarnishInFrontOfTwoEdges: a real Varnish with deploy/varnish caches
// the edges' redirects for s-maxage (60 s); after a PATCH the origin's
// purge hook makes it serve the new target within the freshness bound; a
// forged purge and a replayed one are refused.
func TestVarnishInFrontOfTwoEdges(t *testing.T) {
	const secret = "varnish-test-secret-0123456789"
	vaddr := testutil.FreeAddr(t)
	topo := startTopology(t, 1, 2, func(c *Config) {
		c.Origin = func(_ string, o *origin.Config) {
			o.LinkCacheTTL, o.StockCacheTTL = safetyNet, safetyNet
			o.PurgeHooks = []string{"purge+http://" + vaddr}
			o.PurgeHookSecret = []byte(secret)
		}
		c.Edge = func(_ string, _ int, e *edge.Config) { e.SharedMaxAge = time.Minute }
	})
	r := topo.Regions[0]
	startVarnish(t, vaddr, []string{r.Edges[0].URL, r.Edges[1].URL}, secret)
	o := r.Origin.URL

	admin(t, topo, o, "POST", "/v1/links", `{"url":"https://v.example/1","code":"vz"}`)
	// The create purges link:vz downstream too (gated on the edges, so
	// maybe after Varnish cached it): wait for that send, so no purge is
	// still on its way when the checks below expect a HIT.
	hookSends(t, o, 1)
	// Through Varnish: the first answer fills it, then it is a hit.
	deadline := time.Now().Add(safetyNet)
	for {
		a := getVia(t, vaddr, "/vz")
		if a.status == 302 && a.location == "https://v.example/1" && a.cache == "HIT" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Varnish never served a cached /vz: %+v", a)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// A PATCH: Varnish would keep the old target for a minute (s-maxage);
	// the hook purges it once the edges have the new version.
	start := time.Now()
	admin(t, topo, o, "PATCH", "/v1/links/vz", `{"url":"https://v.example/2"}`)
	for {
		a := getVia(t, vaddr, "/vz")
		if a.location == "https://v.example/2" {
			break
		}
		if time.Since(start) > safetyNet {
			t.Fatalf("Varnish still serves %+v %v after the PATCH", a, time.Since(start))
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("Varnish served the new target %v after the PATCH (s-maxage 60 s)", time.Since(start).Round(time.Millisecond))
	hookSends(t, o, 2) // the PATCH's purge is the one that landed
	for {
		// A fill racing the purge can have been dropped with it: the next
		// answer refills.
		if a := getVia(t, vaddr, "/vz"); a.cache == "HIT" || time.Since(start) > safetyNet {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if a := getVia(t, vaddr, "/vz"); a.cache != "HIT" || a.location != "https://v.example/2" {
		t.Fatalf("after the purge: %+v, want the new target cached again", a)
	}

	// Forged: signed with the wrong secret.
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	nonce := purgehook.Nonce()
	forged := map[string]string{
		"Surrogate-Key": "link:vz", "X-Purge-Mode": "hard", "X-Purge-Timestamp": ts, "X-Purge-Nonce": nonce,
		"X-Purge-Signature": purgehook.SignPURGE([]byte("not the secret at all!"), ts, nonce, "hard", "link:vz"),
	}
	if st := sendPurge(t, vaddr, forged); st != 403 {
		t.Fatalf("forged purge answered %d, want 403", st)
	}
	// Stale: a valid signature on an old timestamp.
	old := strconv.FormatInt(time.Now().Add(-5*time.Minute).Unix(), 10)
	n2 := purgehook.Nonce()
	if st := sendPurge(t, vaddr, map[string]string{
		"Surrogate-Key": "link:vz", "X-Purge-Mode": "hard", "X-Purge-Timestamp": old, "X-Purge-Nonce": n2,
		"X-Purge-Signature": purgehook.SignPURGE([]byte(secret), old, n2, "hard", "link:vz"),
	}); st != 403 {
		t.Fatalf("stale purge answered %d, want 403", st)
	}
	if a := getVia(t, vaddr, "/vz"); a.cache != "HIT" {
		t.Fatalf("a refused purge purged: %+v", a)
	}
	// Valid once; the same request again is a replay.
	valid := map[string]string{
		"Surrogate-Key": "link:vz", "X-Purge-Mode": "hard", "X-Purge-Timestamp": ts, "X-Purge-Nonce": nonce,
		"X-Purge-Signature": purgehook.SignPURGE([]byte(secret), ts, nonce, "hard", "link:vz"),
	}
	if st := sendPurge(t, vaddr, valid); st != 200 {
		t.Fatalf("valid purge answered %d, want 200", st)
	}
	if a := getVia(t, vaddr, "/vz"); a.cache != "MISS" {
		t.Fatalf("after a valid purge: %+v, want MISS", a)
	}
	if st := sendPurge(t, vaddr, valid); st != 409 {
		t.Fatalf("replayed purge answered %d, want 409", st)
	}
}

// TestVarnishTagPurge: the edges' Surrogate-Key names a link's tags, so
// Varnish indexes the cached redirect under "tag:T" (xkey); a purge by
// tag posted to the origin reaches Varnish through the hook and drops
// exactly the tagged links' objects; a signed PURGE of "tag:T" alone
// (what the hook sends for a tag) does the same.
func TestVarnishTagPurge(t *testing.T) {
	const secret = "varnish-test-secret-0123456789"
	vaddr := testutil.FreeAddr(t)
	topo := startTopology(t, 1, 2, func(c *Config) {
		c.Origin = func(_ string, o *origin.Config) {
			o.LinkCacheTTL, o.StockCacheTTL = safetyNet, safetyNet
			o.PurgeHooks = []string{"purge+http://" + vaddr}
			o.PurgeHookSecret = []byte(secret)
		}
		c.Edge = func(_ string, _ int, e *edge.Config) { e.SharedMaxAge = time.Minute }
	})
	r := topo.Regions[0]
	startVarnish(t, vaddr, []string{r.Edges[0].URL, r.Edges[1].URL}, secret)
	o := r.Origin.URL
	admin(t, topo, o, "POST", "/v1/links", `{"url":"https://v.example/t","code":"vt1","tags":["promo"]}`)
	admin(t, topo, o, "POST", "/v1/links", `{"url":"https://v.example/t","code":"vt2","tags":["promo","x"]}`)
	admin(t, topo, o, "POST", "/v1/links", `{"url":"https://v.example/u","code":"vu"}`)
	paths := []string{"/vt1", "/vt2", "/vu"}
	// warm fills Varnish and waits until it stays filled: the hook's
	// purges of earlier writes (the creates, the link keys of a tag
	// purge) land a little after the edges applied them.
	warm := func() {
		t.Helper()
		deadline := time.Now().Add(safetyNet)
		for stable := 0; stable < 2; {
			stable++
			for _, p := range paths {
				if getVia(t, vaddr, p).cache != "HIT" {
					stable = 0
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("Varnish never kept %v cached", paths)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	untilMiss := func(p string) {
		t.Helper()
		deadline := time.Now().Add(safetyNet)
		for {
			a := getVia(t, vaddr, p)
			if a.cache == "MISS" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("Varnish still serves %s from cache after the tag purge: %+v", p, a)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	warm()
	start := time.Now()
	purge(t, topo, o, `{"tags":["promo"]}`)
	untilMiss("/vt1")
	untilMiss("/vt2")
	t.Logf("Varnish dropped the tagged links %v after the tag purge", time.Since(start).Round(time.Millisecond))
	if a := getVia(t, vaddr, "/vu"); a.cache != "HIT" {
		t.Fatalf("an untagged link was purged: %+v", a)
	}

	// The surrogate-key purge by itself, signed as the hook signs it.
	warm()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	nonce := purgehook.Nonce()
	if st := sendPurge(t, vaddr, map[string]string{
		"Surrogate-Key": "tag:x", "X-Purge-Mode": "hard", "X-Purge-Timestamp": ts, "X-Purge-Nonce": nonce,
		"X-Purge-Signature": purgehook.SignPURGE([]byte(secret), ts, nonce, "hard", "tag:x"),
	}); st != 200 {
		t.Fatalf("PURGE tag:x answered %d", st)
	}
	for p, want := range map[string]string{"/vt1": "HIT", "/vt2": "MISS", "/vu": "HIT"} {
		if a := getVia(t, vaddr, p); a.cache != want {
			t.Fatalf("after PURGE tag:x, %s: %+v, want %s", p, a, want)
		}
	}
}

// hookSends waits until the origin at originURL has sent at least n purges
// to its hooks successfully (shortstock_origin_purge_hook_sends_total,
// result ok), and fails the test if it sends more than n: each write
// here must cost exactly one downstream purge.
func hookSends(t *testing.T, originURL string, n int) {
	t.Helper()
	deadline := time.Now().Add(safetyNet)
	for {
		got := 0.0
		if res, err := client.Get(originURL + "/_/metrics"); err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			for _, line := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(line, "shortstock_origin_purge_hook_sends_total{") && strings.Contains(line, `result="ok"`) {
					f := strings.Fields(line)
					v, _ := strconv.ParseFloat(f[len(f)-1], 64)
					got += v
				}
			}
		}
		if int(got) > n {
			t.Fatalf("%v purges sent to the hook, want %d", got, n)
		}
		if int(got) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v purges sent to the hook after %v, want %d", got, safetyNet, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
