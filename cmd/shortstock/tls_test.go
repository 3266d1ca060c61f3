package main

import (
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/testutil"
	"github.com/shortstock/shortstock/internal/tlsfiles"
	"github.com/shortstock/shortstock/internal/wire"
)

// The real binaries with the TLS flags: an origin on HTTPS with an admin
// listener, an edge on HTTPS fetching from it with --origin-ca, and the
// edge's metrics only on its --admin-listen.
func TestTLSFlags(t *testing.T) {
	files, _ := testutil.NewCA(t).WriteFiles(t, t.TempDir())
	env := []string{"SHORTSTOCK_ADMIN_KEY=" + adminKey, secretEnv, "SHORTSTOCK_LOG_LEVEL=warn",
		"SHORTSTOCK_TLS_CERT=" + files.Cert, "SHORTSTOCK_TLS_KEY=" + files.Key}
	oaddr, oadmin, eaddr, eadmin := testutil.FreeAddr(t), testutil.FreeAddr(t), testutil.FreeAddr(t), testutil.FreeAddr(t)
	start(t, env, "origin", "--listen", oaddr, "--data-dir", t.TempDir(), "--admin-listen", oadmin)
	start(t, env, "edge", "--listen", eaddr, "--origin", "https://"+oaddr, "--origin-ca", files.CA, "--admin-listen", eadmin)
	trust, err := tlsfiles.ClientConfig(files.CA, "", "")
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: trust}, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(url string, hdr ...string) (int, string) {
		req, _ := http.NewRequest("GET", url, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := client.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	waitFor := func(url string) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			if c, _ := get(url); c == 200 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never answered 200", url)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("https://" + oaddr + "/_/readyz")
	waitFor("https://" + eaddr + "/_/readyz")
	req, _ := http.NewRequest("POST", "https://"+oaddr+"/v1/links", strings.NewReader(`{"url":"https://e.example/t","code":"tlsflag"}`))
	req.Header.Set("Authorization", "Bearer "+adminKey)
	res, err := client.Do(req)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("create over https: %v %v", res, err)
	}
	res.Body.Close()
	if c, b := get("https://" + eaddr + "/tlsflag"); c != 302 {
		t.Fatalf("edge: %d %s", c, b)
	}
	if c, _ := get("https://" + eaddr + "/_/metrics"); c != 404 {
		t.Fatalf("public /_/metrics with --admin-listen: %d, want 404", c)
	}
	for _, a := range []string{eadmin, oadmin} {
		if c, b := get("http://" + a + "/_/metrics"); c != 200 || !strings.Contains(b, "shortstock_") {
			t.Fatalf("admin listener %s: %d", a, c)
		}
	}
	// Without the CA the edge's certificate is refused.
	if _, err := tls.Dial("tcp", eaddr, &tls.Config{MinVersion: tls.VersionTLS12}); err == nil {
		t.Fatal("a client without the test CA accepted the edge's certificate")
	}
}

// The contract's minimal command lines (shared API.md: --listen, --origin,
// --admin-key, no secret) work on one machine, with a token all the same:
// nodes on loopback alone share the per-user secret file, which the first
// one creates (0600). A loopback client without the token gets 401 (no
// unauthenticated mode but --internal-insecure), with it 200. Trusting
// loopback clients again (the origin in InternalLoopback mode) or dropping
// the token check fails the 401; an edge that ignored the file fails the
// 302.
func TestLoopbackNodesNeedNoSecret(t *testing.T) {
	cfgHome := t.TempDir()
	env := []string{"SHORTSTOCK_ADMIN_KEY=" + adminKey, "SHORTSTOCK_LOG_LEVEL=info", "XDG_CONFIG_HOME=" + cfgHome}
	oaddr, eaddr := testutil.FreeAddr(t), testutil.FreeAddr(t)
	o := start(t, env, "origin", "--listen", oaddr, "--data-dir", t.TempDir())
	waitHTTP(t, "http://"+oaddr+"/_/readyz")
	start(t, env, "edge", "--listen", eaddr, "--origin", "http://"+oaddr)
	waitHTTP(t, "http://"+eaddr+"/_/readyz")
	file := filepath.Join(cfgHome, "shortstock", "cluster-secret")
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatalf("no secret file: %v\norigin logs:\n%s", err, o.logs.String())
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("secret file mode %04o, want 0600", perm)
	}
	if !strings.Contains(o.logs.String(), "created the cluster secret file") {
		t.Errorf("the origin did not say it created the secret file:\n%s", o.logs.String())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	internal := func(token string) int {
		req, _ := http.NewRequest("GET", "http://"+oaddr+"/internal/v1/heads", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if c := internal(""); c != 401 {
		t.Errorf("internal API without a token from loopback: %d, want 401", c)
	}
	if c := internal(wire.ClusterToken([]byte(strings.TrimSpace(string(b))))); c != 200 {
		t.Errorf("internal API with the file's token: %d, want 200", c)
	}
	if c, _ := call(t, "POST", "http://"+oaddr+"/v1/links", `{"url":"https://e.example/lo","code":"loopy"}`); c != 201 {
		t.Fatalf("create: %d", c)
	}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get("http://" + eaddr + "/loopy")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 302 {
		t.Fatalf("edge without a secret against a loopback origin: %d, want 302", res.StatusCode)
	}
}
