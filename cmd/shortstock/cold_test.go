package main

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/redistest"
	"github.com/shortstock/shortstock/internal/testutil"
)

func TestColdFlagsExitTwoWithOneLine(t *testing.T) {
	dir := t.TempDir()
	base := []string{"origin", "--admin-key", "0123456789abcdef", "--listen", "127.0.0.1:0", "--data-dir", dir}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--cold-after", "-1h"}, "invalid --cold-after -1h0m0s"},
		{[]string{"--cold-after", "10ms"}, "invalid --cold-after 10ms: at least 1s"},
		{[]string{"--cold-after", "soon"}, "invalid value \"soon\" for flag -cold-after"},
		{[]string{"--cold-store", "file:///tmp/x"}, "--cold-store needs --cold-after DURATION"},
		{[]string{"--cold-after", "1h", "--cold-store", "ftp://host/x"}, "invalid --cold-store \"ftp://host/x\""},
		{[]string{"--cold-after", "1h", "--cold-store", "file://relative/dir"}, "want file:///ABSOLUTE/DIR"},
		{[]string{"--cold-after", "1h", "--cold-interval", "-1s"}, "invalid --cold-interval"},
		{[]string{"--store", "redis", "--redis", "127.0.0.1:1", "--cold-after", "1h"}, "--cold-after with --store redis needs --cold-store URL"},
	} {
		code, _, stderr := runCLI(t, []string{secretEnv}, append(append([]string{}, base...), tc.args...)...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || !strings.Contains(lastLine(stderr), tc.want) || len(lines) > 3 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line with %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestColdTierSurvivesKill9: a real origin with a 1 s cold tier on the
// file backend is killed -9 at random moments while its mover runs; after
// each restart every link reads at its latest version (hot or cold), and
// GET /v1/tiers shows links moved.
func TestColdTierSurvivesKill9(t *testing.T) {
	coldKill9(t, "--data-dir", t.TempDir())
}

// The same with the hot tier in Redis (a real redis-server, AOF always)
// and the cold tier given explicitly.
func TestColdTierOnRedisSurvivesKill9(t *testing.T) {
	rs, err := redistest.StartServer(redistest.ServerOptions{AppendFsync: "always"})
	if err != nil {
		if redistest.InCI() {
			t.Fatalf("redis-server: %v", err)
		}
		t.Skipf("redis-server unavailable: %v", err)
	}
	t.Cleanup(func() { _ = rs.Stop() })
	coldKill9(t, "--store", "redis", "--redis", rs.Addr, "--redis-unsafe-config", "warn",
		"--cold-store", "file://"+filepath.ToSlash(t.TempDir()))
}

func coldKill9(t *testing.T, storeArgs ...string) {
	addr := testutil.FreeAddr(t)
	base := "http://" + addr
	env := []string{"SHORTSTOCK_ADMIN_KEY=" + adminKey, secretEnv}
	args := append([]string{"origin", "--listen", addr, "--cold-after", "1s", "--cold-interval", "1s"}, storeArgs...)
	p := start(t, env, args...)
	waitHTTP(t, base+"/_/readyz")
	const n = 120
	want := map[string]float64{}
	for i := 0; i < n; i++ {
		code := fmt.Sprintf("ck%d", i)
		if c, m := call(t, "POST", base+"/v1/links", fmt.Sprintf(`{"url":"https://e.example/%d","code":%q}`, i, code)); c != 201 {
			t.Fatalf("create: %d %v", c, m)
		}
		want[code] = 1
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 4; round++ {
		// Write some links (promoting the cold ones first), then let the
		// mover run and kill it at a random moment.
		for i := round; i < n; i += 7 {
			code := fmt.Sprintf("ck%d", i)
			c, m := call(t, "PATCH", base+"/v1/links/"+code, fmt.Sprintf(`{"title":"r%d"}`, round))
			if c != 200 {
				t.Fatalf("patch %s: %d %v", code, c, m)
			}
			want[code] = m["version"].(float64)
		}
		if c, _ := call(t, "POST", base+"/v1/tiers/run", ""); c != 202 {
			t.Fatalf("POST /v1/tiers/run: %d", c)
		}
		time.Sleep(time.Duration(1000+rng.IntN(2500)) * time.Millisecond)
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
		p = start(t, env, args...)
		waitHTTP(t, base+"/_/readyz")
		for code, v := range want {
			c, m := call(t, "GET", base+"/v1/links/"+code, "")
			if c != 200 || m["version"] != v {
				t.Fatalf("round %d: %s after kill -9: %d %v; want version %v", round, code, c, m, v)
			}
		}
	}
	// Leave them idle: they move, and still read (cold, promoted on read).
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, m := call(t, "GET", base+"/v1/tiers", "")
		cold, _ := m["cold"].(map[string]any)
		if c == 200 && cold != nil && cold["links"].(float64) >= n && m["last_run"] != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /v1/tiers never showed the links cold: %d %v", c, m)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for code, v := range want {
		if c, m := call(t, "GET", base+"/v1/links/"+code, ""); c != 200 || m["version"] != v {
			t.Fatalf("%s cold: %d %v; want version %v", code, c, m, v)
		}
	}
	p.stopWith(t, syscall.SIGTERM, 20*time.Second)
}

// An origin given another cold store than the one its hot store's links
// went to exits 2 with one line.
func TestColdStoreMismatchExitsTwo(t *testing.T) {
	dir := t.TempDir()
	addr := testutil.FreeAddr(t)
	env := []string{"SHORTSTOCK_ADMIN_KEY=" + adminKey, secretEnv}
	p := start(t, env, "origin", "--listen", addr, "--data-dir", dir, "--cold-after", "1h")
	waitHTTP(t, "http://"+addr+"/_/readyz")
	p.stopWith(t, syscall.SIGTERM, 20*time.Second)
	other := "file://" + filepath.ToSlash(t.TempDir())
	code, _, stderr := runCLI(t, env, "origin", "--listen", addr, "--data-dir", dir, "--cold-after", "1h", "--cold-store", other)
	if code != 2 || !strings.Contains(lastLine(stderr), "another cold store than the hot store's") {
		t.Fatalf("exit %d, stderr %q; want 2 and the mismatch", code, stderr)
	}
}
