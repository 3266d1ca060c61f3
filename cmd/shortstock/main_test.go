package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/testutil"
)

var binary string

// secretEnv gives a process the cluster secret its internal API token is
// derived from (required since issue 18).
const secretEnv = "SHORTSTOCK_CLUSTER_SECRET=cmd-test-cluster-secret-0123456789abcdef"

// TestMain builds the real binary once; these tests drive it as a user
// would, through flags, env variables, signals and HTTP.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "shortstock-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "shortstock")
	if out, err := exec.Command("go", "build", "-race", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	// The binary runs in its own process; goleak checks what the tests
	// themselves start (clients, watchers of the child's output).
	testutil.VerifyNoLeaks(m, func() { os.RemoveAll(dir) })
}

func runCLI(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), o.String(), e.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, o.String(), e.String()
}

func TestBadFlagsExitTwoWithOneLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"origin", "--bogus"}, nil, "flag provided but not defined"},
		{[]string{"origin"}, nil, "no admin key"},
		{[]string{"origin", "--admin-key", "short"}, nil, "at least 16"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--store", "mysql"}, nil, "invalid --store"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--listen", "nope"}, nil, "invalid --listen"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--log-level", "loud"}, nil, "invalid --log-level"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "extra"}, nil, "unexpected argument"},
		{[]string{"origin"}, []string{"SHORTSTOCK_LINK_TTL=forever", "SHORTSTOCK_ADMIN_KEY=0123456789abcdef"}, "SHORTSTOCK_LINK_TTL"},
		{[]string{"frobnicate"}, nil, "unknown command"},
		{[]string{"compact"}, nil, "--data-dir is required"},
		{[]string{"compact", "--data-dir", "/x", "--lock-timeout", "0s"}, nil, "--lock-timeout"},
		{[]string{"bench", "--partitions", "1000"}, nil, "power of two"},
		{[]string{"bench", "--gomaxprocs", "-2"}, nil, "gomaxprocs must be"},
		{[]string{"bench", "--pipeline", "300"}, nil, "--pipeline must be"},
		{[]string{"bench", "--cpu", "1-0"}, nil, "invalid --cpu"},
		{[]string{"demo", "--cpu", "1023"}, nil, "invalid --cpu"},
		{[]string{"edge", "--origin", "http://127.0.0.1:1", "--cpu", "x"}, []string{secretEnv}, "invalid --cpu"},
		{[]string{"bench", "--probe-rate", "-1"}, nil, "--probe-rate"},
		// Cluster secrets: 32 bytes at least, never the example placeholder.
		{[]string{"edge", "--origin", "http://127.0.0.1:1", "--cluster-secret", "short"}, nil, "at least 32 bytes"},
		{[]string{"edge", "--origin", "http://127.0.0.1:1"}, []string{"SHORTSTOCK_CLUSTER_SECRET=REPLACE_ME"}, "placeholder"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--cluster-secret", "REPLACE_ME" + strings.Repeat("x", 40)}, nil, "placeholder"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--cluster-secret", strings.Repeat("x", 40), "--cluster-secret", "short"}, nil, "--cluster-secret #2"},
		// TLS flags.
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--tls-cert", "/nonexistent/cert.pem"}, []string{secretEnv}, "--tls-cert and --tls-key go together"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--tls-cert", "/nonexistent/c.pem", "--tls-key", "/nonexistent/k.pem"}, []string{secretEnv}, "--tls-cert/--tls-key"},
		{[]string{"edge", "--origin", "https://127.0.0.1:1", "--origin-ca", "/nonexistent/ca.pem"}, []string{secretEnv}, "--origin-ca"},
		{[]string{"edge", "--origin", "http://127.0.0.1:1", "--admin-listen", "nope"}, []string{secretEnv}, "invalid --admin-listen"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--store", "redis", "--redis", "127.0.0.1:1", "--redis-ca", "/x.pem"}, []string{secretEnv}, "need rediss://"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--store", "redis", "--redis", "rediss://127.0.0.1:1", "--redis", "127.0.0.1:2"}, []string{secretEnv}, "mix rediss://"},
		// No internal API without a token, unless said out loud.
		// (on loopback addresses alone a node may go without: see
		// TestLoopbackNodesNeedNoSecret)
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--listen", "0.0.0.0:0"}, nil, "no --cluster-secret"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--listen", ":9090"}, nil, "no --cluster-secret"},
		{[]string{"edge", "--origin", "http://10.0.0.1:9090"}, nil, "no --cluster-secret"},
		{[]string{"edge", "--origin", "http://127.0.0.1:1,https://origin.example:9090"}, nil, "no --cluster-secret"},
		{[]string{"edge", "--origin", "http://127.0.0.1:1", "--internal-insecure"}, []string{secretEnv}, "contradicts"},
		// Admin keys with scopes, by digest; rate limits; URL policy.
		{[]string{"origin", "--admin-key", "0123456789abcdef:lnks"}, nil, "invalid scope list"},
		{[]string{"origin", "--admin-key", "0123456789abcdef:"}, nil, "invalid scope list"},
		{[]string{"origin", "--admin-key", "short:links"}, nil, "at least 16"},
		{[]string{"origin", "--admin-key-sha256", "abc"}, nil, "64 hex digits"},
		{[]string{"origin", "--admin-key-sha256", strings.Repeat("ab", 32) + ":everything"}, nil, "invalid scope list"},
		{[]string{"origin"}, []string{"SHORTSTOCK_ADMIN_KEY_SHA256=zz"}, "--admin-key-sha256"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--key-rate", "-1"}, nil, "invalid --key-rate"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--key-rate", "NaN"}, nil, "invalid --key-rate"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--key-rate", "fast"}, nil, "invalid value"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--ip-burst", "0"}, nil, "invalid --ip-burst"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--auth-fail-rate", "+Inf"}, nil, "invalid --auth-fail-rate"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--auth-fail-burst", "-3"}, nil, "invalid --auth-fail-burst"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--max-tracked-ips", "0"}, nil, "invalid --max-tracked-ips"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--trusted-proxy", "10.0.0.0/33"}, nil, "invalid --trusted-proxy"},
		{[]string{"origin", "--admin-key", "0123456789abcdef"}, []string{"SHORTSTOCK_TRUSTED_PROXY=proxy.example"}, "invalid --trusted-proxy"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--own-domain", "https://sho.rt/"}, nil, "invalid --own-domain"},
		{[]string{"origin", "--admin-key", "0123456789abcdef"}, []string{"SHORTSTOCK_BLOCK_PRIVATE_TARGETS=maybe"}, "SHORTSTOCK_BLOCK_PRIVATE_TARGETS"},
		{[]string{"origin", "--admin-key", "0123456789abcdef"}, []string{"SHORTSTOCK_REJECT_HOMOGRAPHS=2"}, "SHORTSTOCK_REJECT_HOMOGRAPHS"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--purge-hook", "ftp://cdn.example"}, nil, "invalid --purge-hook"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--purge-hook", "purge+http://127.0.0.1:6081"}, nil, "--purge-hook-secret"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--peer-origin", "nope"}, nil, "invalid --peer-origin"},
		// Redis durability (docs/redis.md): checked before connecting.
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--store", "redis", "--redis", "127.0.0.1:1", "--redis-wait", "many"}, nil, "invalid --redis-wait"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--store", "redis", "--redis", "127.0.0.1:1", "--redis-wait-timeout", "5s"}, nil, "invalid --redis-wait-timeout"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--store", "redis", "--redis", "127.0.0.1:1", "--redis-unsafe-config", "ignore"}, nil, "invalid --redis-unsafe-config"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--job-lease", "10ms"}, nil, "invalid --job-lease"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--push-values", "maybe"}, nil, "invalid --push-values"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--ledger-retention", "10s"}, nil, "ledger-retention"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--ledger-retention", "-1d"}, nil, "ledger-retention"},
		{[]string{"origin", "--admin-key", "0123456789abcdef", "--public-base-url", "sho.rt"}, nil, "invalid --public-base-url"},
		{[]string{"origin", "--admin-key", "0123456789abcdef"}, []string{"SHORTSTOCK_PUBLIC_BASE_URL=https://sho.rt/?x=1"}, "invalid --public-base-url"},
		// Edge cache headers (docs/cdn.md).
		{[]string{"edge", "--origin", "http://127.0.0.1:1", "--shared-max-age", "-1s"}, nil, "must not be negative"},
		{[]string{"edge", "--origin", "http://127.0.0.1:1"}, []string{"SHORTSTOCK_STALE_WHILE_REVALIDATE=soon"}, "SHORTSTOCK_STALE_WHILE_REVALIDATE"},
		{[]string{"edge", "--origin", "http://127.0.0.1:1", "--robots-file", "/nonexistent/robots.txt"}, nil, "--robots-file"},
	} {
		code, stdout, stderr := runCLI(t, tc.env, tc.args...)
		if stdout != "" {
			t.Errorf("%v: a usage error printed to stdout: %q", tc.args, stdout)
		}
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || len(lines) != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line containing %q", tc.args, code, stderr, tc.want)
		}
	}
	if code, out, _ := runCLI(t, nil, "help"); code != 0 || !strings.Contains(out, "origin") {
		t.Errorf("help: exit %d %q", code, out)
	}
	if code, out, _ := runCLI(t, nil, "origin", "-h"); code != 0 || !strings.Contains(out, "SHORTSTOCK_ADMIN_KEY") {
		t.Errorf("origin -h: exit %d %q", code, out)
	}
	if code, out, _ := runCLI(t, nil, "version"); code != 0 || !strings.HasPrefix(out, "shortstock ") {
		t.Errorf("version: exit %d %q", code, out)
	}
}

// proc is a running shortstock process.
type proc struct {
	cmd  *exec.Cmd
	logs *testutil.LockedBuffer // stderr
	out  *testutil.LockedBuffer // stdout
	done chan struct{}          // closed when the process has exited
	err  error                  // its exit status, once done is closed
}

func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	p := &proc{cmd: cmd, logs: &testutil.LockedBuffer{}, out: &testutil.LockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout = p.out
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	go func() {
		s := bufio.NewScanner(pr)
		for s.Scan() {
			fmt.Fprintln(p.logs, s.Text())
		}
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); pw.Close(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

// stopWith sends sig and waits up to within for the process to exit 0.
func (p *proc) stopWith(t *testing.T, sig os.Signal, within time.Duration) {
	t.Helper()
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("exit after %v: %v\n%s", sig, p.err, p.logs)
		}
	case <-time.After(within):
		t.Fatalf("did not stop within %v of %v\n%s", within, sig, p.logs)
	}
}

func waitHTTP(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if r, err := http.Get(url); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never became ready", url)
}

const adminKey = "cli-test-admin-key-0123"

// key is the admin key call sends; tests against the demo swap in its key.
var key = adminKey

func call(t *testing.T, method, url, body string, hdr ...string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(b, &m)
	return res.StatusCode, m
}

// Every acknowledged write survives kill -9, and holds still expire after
// the restart.
func TestOriginSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	addr := testutil.FreeAddr(t)
	base := "http://" + addr
	env := []string{"SHORTSTOCK_ADMIN_KEY=" + adminKey, secretEnv}
	p := start(t, env, "origin", "--listen", addr, "--data-dir", dir)
	waitHTTP(t, base+"/_/readyz")

	const n = 40
	for i := 0; i < n; i++ {
		if c, m := call(t, "POST", base+"/v1/links", fmt.Sprintf(`{"url":"https://e.example/%d","code":"k%d"}`, i, i)); c != 201 {
			t.Fatalf("create: %d %v", c, m)
		}
	}
	if c, _ := call(t, "PATCH", base+"/v1/links/k0", `{"redirect":308}`); c != 200 {
		t.Fatal("patch failed")
	}
	if c, _ := call(t, "PUT", base+"/v1/stock/SKU/w1", `{"on_hand":10}`); c != 200 {
		t.Fatal("put failed")
	}
	c, hold := call(t, "POST", base+"/v1/reservations", `{"sku":"SKU","qty":3,"ttl_seconds":2}`, "Idempotency-Key", "k-1")
	if c != 201 {
		t.Fatalf("reserve: %d %v", c, hold)
	}
	c, kept := call(t, "POST", base+"/v1/reservations", `{"sku":"SKU","qty":4,"ttl_seconds":3600}`)
	if c != 201 {
		t.Fatalf("reserve: %d", c)
	}

	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done

	p2 := start(t, env, "origin", "--listen", addr, "--data-dir", dir)
	waitHTTP(t, base+"/_/readyz")
	for i := 0; i < n; i++ {
		if c, m := call(t, "GET", fmt.Sprintf("%s/v1/links/k%d", base, i), ""); c != 200 || m["url"] != fmt.Sprintf("https://e.example/%d", i) {
			t.Fatalf("link k%d lost after kill -9: %d %v", i, c, m)
		}
	}
	if _, m := call(t, "GET", base+"/v1/links/k0", ""); m["redirect"] != 308.0 || m["version"] != 2.0 {
		t.Fatalf("patch lost: %v", m)
	}
	if _, m := call(t, "GET", base+"/v1/reservations/"+kept["id"].(string), ""); m["status"] != "held" {
		t.Fatalf("hold lost: %v", m)
	}
	// The retry of an acknowledged idempotent request still replays.
	if c, m := call(t, "POST", base+"/v1/reservations", `{"sku":"SKU","qty":3,"ttl_seconds":2}`, "Idempotency-Key", "k-1"); c != 201 || m["id"] != hold["id"] {
		t.Fatalf("idempotency record lost: %d %v", c, m)
	}
	// The 2 s hold expires on its own after the restart: it reads expired
	// once past its expiry, and the sweep returns its stock.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, m := call(t, "GET", base+"/v1/stock/SKU", "")
		if m["available"] == 6.0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stock after restart: %v", m)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, m := call(t, "GET", base+"/v1/reservations/"+hold["id"].(string), ""); m["status"] != "expired" {
		t.Fatalf("hold after the sweep: %v", m)
	}

	// SIGTERM: drain and exit 0, port released.
	p2.stopWith(t, syscall.SIGTERM, 20*time.Second)
	if ln, err := net.Listen("tcp", addr); err != nil {
		t.Fatalf("port still held after exit: %v", err)
	} else {
		ln.Close()
	}
}
