package topology_test

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shortstock/shortstock/edge"
	"github.com/shortstock/shortstock/internal/testutil"
	"github.com/shortstock/shortstock/internal/tlsfiles"
	"github.com/shortstock/shortstock/internal/wire"
	"github.com/shortstock/shortstock/origin"
	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/topology"
)

// TLS end to end, with certificates made by the test: an origin and an
// edge serving HTTPS, the edge fetching from its https:// origin trusting
// only the test CA, the edge's certificate renewed on disk and served
// without a restart, and metrics and pprof on admin listeners with the
// edge's public /_/metrics gone.
func TestTLSOriginAndEdge(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ca := testutil.NewCA(t)
	odir, edir := t.TempDir(), t.TempDir()
	ofiles, _ := ca.WriteFiles(t, odir)
	efiles, firstSerial := ca.WriteFiles(t, edir)
	oreload, err := tlsfiles.NewReloader(ofiles.Cert, ofiles.Key, 0, quiet)
	if err != nil {
		t.Fatal(err)
	}
	ereload, err := tlsfiles.NewReloader(efiles.Cert, efiles.Key, 10*time.Millisecond, quiet)
	if err != nil {
		t.Fatal(err)
	}
	st, err := embedded.Open(embedded.DefaultConfig(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	token := wire.ClusterToken([]byte("tls-test-cluster-secret"))
	const adminKey = "tls-test-admin-key-0123456789"
	oc := origin.DefaultConfig()
	oc.Store, oc.AdminKeys, oc.ClusterToken = st, []string{adminKey}, token
	on, err := topology.StartOrigin(topology.OriginOptions{Origin: oc, Listen: "127.0.0.1:0", TLS: oreload.ServerConfig(), AdminListen: "127.0.0.1:0", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = on.Shutdown(t.Context()) })
	if !strings.HasPrefix(on.URL, "https://") {
		t.Fatalf("origin URL %s", on.URL)
	}
	trustCA, err := tlsfiles.ClientConfig(ofiles.CA, "", "")
	if err != nil {
		t.Fatal(err)
	}
	startEdge := func(originTLS *tls.Config) *topology.EdgeNode {
		ec := edge.DefaultConfig()
		ec.Origins, ec.ClusterToken, ec.OriginTLS = []string{on.URL}, token, originTLS
		en, err := topology.StartEdge(topology.EdgeOptions{Edge: ec, Listen: "127.0.0.1:0", TLS: ereload.ServerConfig(), AdminListen: "127.0.0.1:0", Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = en.Shutdown(t.Context()) })
		return en
	}
	en := startEdge(trustCA)
	untrusting := startEdge(nil) // the system roots do not hold the test CA

	client := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: trustCA},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
	do := func(method, url, body string, auth bool) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		if auth {
			req.Header.Set("Authorization", "Bearer "+adminKey)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(b)
	}
	if res, b := do("POST", on.URL+"/v1/links", `{"url":"https://e.example/tls","code":"tlslink"}`, true); res.StatusCode != 201 {
		t.Fatalf("create over https: %d %s", res.StatusCode, b)
	}
	res, _ := do("GET", en.URL+"/tlslink", "", false)
	if res.StatusCode != 302 || res.Header.Get("Location") != "https://e.example/tls" || res.TLS == nil {
		t.Fatalf("edge over https, origin over https: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res, _ := do("GET", untrusting.URL+"/tlslink", "", false); res.StatusCode != 503 {
		t.Fatalf("an edge that does not trust the origin's CA answered %d, want 503", res.StatusCode)
	}
	// A plain-HTTP client is not served by the TLS ports.
	if r, err := http.Get("http://" + strings.TrimPrefix(en.URL, "https://") + "/tlslink"); err == nil {
		r.Body.Close()
		if r.StatusCode < 400 {
			t.Fatalf("plain HTTP to the TLS port answered %d", r.StatusCode)
		}
	}

	// Metrics and pprof on the admin listeners; the edge's public
	// /_/metrics is gone.
	if res, _ := do("GET", en.URL+"/_/metrics", "", false); res.StatusCode != 404 {
		t.Fatalf("public /_/metrics with an admin listener: %d, want 404", res.StatusCode)
	}
	for _, u := range []string{en.AdminURL, on.AdminURL} {
		r, err := http.Get(u + "/_/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != 200 || !strings.Contains(string(b), "shortstock_") {
			t.Fatalf("%s/_/metrics: %d", u, r.StatusCode)
		}
		r, err = http.Get(u + "/debug/pprof/goroutine?debug=1")
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 200 {
			t.Fatalf("%s pprof: %d", u, r.StatusCode)
		}
	}

	// Renewal: new files on disk, served without a restart.
	serial := func() int64 {
		c, err := tls.Dial("tcp", strings.TrimPrefix(en.URL, "https://"), trustCA)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	if s := serial(); s != firstSerial {
		t.Fatalf("serial %d, want %d", s, firstSerial)
	}
	_, renewed := ca.WriteFiles(t, edir)
	future := time.Now().Add(time.Minute)
	_ = os.Chtimes(efiles.Cert, future, future)
	_ = os.Chtimes(efiles.Key, future, future)
	deadline := time.Now().Add(10 * time.Second)
	for serial() != renewed {
		if time.Now().After(deadline) {
			t.Fatalf("the renewed certificate (serial %d) was never served", renewed)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
