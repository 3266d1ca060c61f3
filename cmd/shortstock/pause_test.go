package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/testutil"
)

func servedVersion(t *testing.T, edge, path string) (uint64, bool) {
	res, err := noRedirect.Get(edge + path)
	if err != nil {
		return 0, false
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	v, err := strconv.ParseUint(res.Header.Get("X-Version"), 10, 64)
	return v, err == nil && res.StatusCode < 500
}

// A real pause: an edge process is SIGSTOPped for 5 s while the link it
// cached changes five times. When it resumes it must catch up by itself (it
// missed the gossip), and no edge may ever serve a version older than one it
// served before.
func TestPausedEdgeProcessCatchesUp(t *testing.T) {
	gkey := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	env := []string{"SHORTSTOCK_ADMIN_KEY=" + adminKey, "SHORTSTOCK_GOSSIP_KEY=" + gkey, secretEnv, "SHORTSTOCK_LOG_LEVEL=warn", "SHORTSTOCK_REGION=pause-test"}
	oaddr, ogossip := testutil.FreeAddr(t), testutil.FreeGossipAddr(t)
	start(t, env, "origin", "--listen", oaddr, "--data-dir", t.TempDir(), "--gossip-bind", ogossip)
	waitHTTP(t, "http://"+oaddr+"/_/readyz")
	var edges []string
	var procs []*proc
	for i := 0; i < 3; i++ {
		addr := testutil.FreeAddr(t)
		// The heads poll is off: gossip anti-entropy alone must repair the
		// paused edge.
		p := start(t, env, "edge", "--listen", addr, "--origin", "http://"+oaddr, "--gossip-bind", testutil.FreeGossipAddr(t), "--join", ogossip, "--heads-poll", "0", "--node-name", fmt.Sprintf("edge-%d", i))
		edges = append(edges, "http://"+addr)
		procs = append(procs, p)
	}
	for _, e := range edges {
		waitHTTP(t, e+"/_/readyz") // ready = joined gossip and origin reachable
	}
	base := "http://" + oaddr
	if c, _ := call(t, "POST", base+"/v1/links", `{"url":"https://e.example/1","code":"paused"}`); c != 201 {
		t.Fatal("create failed")
	}
	seen := make([]uint64, len(edges))
	observe := func(i int) uint64 {
		v, ok := servedVersion(t, edges[i], "/paused")
		if ok {
			if v < seen[i] {
				t.Fatalf("edge %d served version %d after %d", i, v, seen[i])
			}
			seen[i] = v
		}
		return v
	}
	for i := range edges {
		observe(i)
	}
	victim := procs[0]
	if err := victim.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	for v := 2; v <= 6; v++ {
		if c, _ := call(t, "PATCH", base+"/v1/links/paused", fmt.Sprintf(`{"url":"https://e.example/%d"}`, v)); c != 200 {
			t.Fatal("patch failed")
		}
		deadline := time.Now().Add(5 * time.Second)
		for i := 1; i < len(edges); i++ {
			for observe(i) < uint64(v) {
				if time.Now().After(deadline) {
					t.Fatalf("running edge %d never got version %d", i, v)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		time.Sleep(time.Until(stopped.Add(time.Duration(v-1) * time.Second)))
	}
	if err := victim.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	resumed := time.Now()
	for observe(0) < 6 {
		if time.Since(resumed) > 15*time.Second {
			t.Fatalf("paused edge still serves version %d 15 s after resuming\n%s", seen[0], victim.logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("edge paused %v caught up %v after SIGCONT", resumed.Sub(stopped).Round(time.Millisecond), time.Since(resumed).Round(time.Millisecond))
}
