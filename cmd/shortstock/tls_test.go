package main

import (
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/testutil"
	"github.com/shortstock/shortstock/internal/tlsfiles"
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
