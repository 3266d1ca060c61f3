package faults

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/testutil"
	"github.com/shortstock/shortstock/topology"
)

// fastBinary is the command built WITHOUT -race, for the one test whose
// size (a million lines) the race detector would make last many minutes:
// what it checks is crash-consistency of storage, not data races, which
// the small tests and the conformance suite cover with -race.
var (
	fastOnce   sync.Once
	fastBinary string
	fastErr    error
)

func buildFast(t *testing.T) string {
	t.Helper()
	fastOnce.Do(func() {
		fastBinary = filepath.Join(filepath.Dir(binary), "shortstock-norace")
		out, err := exec.Command("go", "build", "-o", fastBinary, "github.com/shortstock/shortstock/cmd/shortstock").CombinedOutput()
		if err != nil {
			fastErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if fastErr != nil {
		t.Fatal(fastErr)
	}
	return fastBinary
}

type jobState struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Lines   int64  `json:"lines"`
	Applied int64  `json:"applied"`
	Failed  int64  `json:"failed"`
	Errors  []any  `json:"errors"`
}

// TestBulkMillionLinesKilledTwice: a 1,000,000-line bulk job on the
// embedded store, the origin killed -9 twice while it runs, completes
// after each restart with every line applied exactly once: each of the
// 1000 SKUs ends at version 1000 and on_hand 1000 (one +1 adjust per
// line), its ledger holds exactly its 1000 lines' movements, each line's
// identity (job:ID:LINE) once, the job reads done 1000000/1000000/0, and
// `shortstock ledger verify` finds every view equal to its ledger replay.
// Long suite only (-faults.long, SHORTSTOCK_FAULTS_LONG=1 or CI=true).
func TestBulkMillionLinesKilledTwice(t *testing.T) {
	if !long() && os.Getenv("CI") != "true" {
		t.Skip("long suite: run with -faults.long, SHORTSTOCK_FAULTS_LONG=1 or CI=true")
	}
	const lines, skus = 1_000_000, 1000
	bin := buildFast(t)
	dir := t.TempDir()
	addr := testutil.FreeAddr(t)
	base := "http://" + addr
	env := append(commonEnv(), "SHORTSTOCK_GOSSIP_KEY="+topology.GossipKeyBase64(gossipKey))
	args := []string{"origin", "--region", "bulk", "--listen", addr, "--data-dir", dir, "--job-lease", "1s",
		"--gossip-bind", testutil.FreeGossipAddr(t), "--node-name", "origin-bulk"}
	start := func() *proc {
		p := startProcBin(t, bin, "origin", env, args...)
		waitHTTP(t, base+"/_/readyz", 60*time.Second, p)
		return p
	}
	op := start()
	api := newAdmin(t, base, 120*time.Second)

	var body bytes.Buffer
	for i := range lines {
		fmt.Fprintf(&body, `{"op":"adjust","sku":"M-%d","warehouse":"w","delta":1}`+"\n", i%skus)
	}
	began := time.Now()
	ans, err := api.do(context.Background(), "POST", "/v1/stock:bulk", body.String())
	if err != nil || ans.status != http.StatusAccepted {
		t.Fatalf("POST bulk: %v %d %s", err, ans.status, ans.body)
	}
	var acc struct{ Job string }
	_ = ans.json(&acc)
	t.Logf("queued %d lines (%d MiB) in %v", lines, body.Len()>>20, time.Since(began))
	job := func() jobState {
		var j jobState
		a := api.must(t, "GET", "/v1/jobs/"+acc.Job, "")
		if err := a.json(&j); err != nil {
			t.Fatal(err)
		}
		return j
	}
	waitApplied := func(n int64, deadline time.Duration) jobState {
		end := time.Now().Add(deadline)
		for {
			j := job()
			if j.Applied >= n || j.Status == "done" || j.Status == "failed" {
				return j
			}
			if time.Now().After(end) {
				t.Fatalf("job stuck at %+v", j)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for k, at := range []int64{300_000, 650_000} {
		j := waitApplied(at, 3*time.Minute)
		if j.Status == "done" {
			t.Fatalf("job ended before kill %d: %+v", k+1, j)
		}
		op.kill()
		t.Logf("kill -9 #%d at %d applied (%v)", k+1, j.Applied, time.Since(began))
		op = start()
	}
	j := waitApplied(lines, 3*time.Minute)
	t.Logf("job ended %+v after %v", j, time.Since(began))
	if j.Status != "done" || j.Lines != lines || j.Applied != lines || j.Failed != 0 || len(j.Errors) != 0 {
		t.Fatalf("job = %+v", j)
	}

	// Every line once: per SKU, the view and the ledger.
	seen := make([]bool, lines+1)
	prefix := "job:" + acc.Job + ":"
	get := func(path string, v any) error { // api.must would t.Fatal off the test goroutine
		a, err := api.do(context.Background(), "GET", path, "")
		if err == nil && a.status != http.StatusOK {
			err = fmt.Errorf("GET %s: %d %s", path, a.status, a.body)
		}
		if err != nil {
			return err
		}
		return a.json(v)
	}
	checkSKU := func(s int) {
		sku := fmt.Sprintf("M-%d", s)
		var v struct {
			Version    uint64
			Warehouses map[string]struct {
				OnHand int64 `json:"on_hand"`
			}
		}
		if err := get("/v1/stock/"+sku, &v); err != nil {
			t.Error(err)
			return
		}
		if v.Version != lines/skus || v.Warehouses["w"].OnHand != lines/skus {
			t.Errorf("%s = %+v; want version and on_hand %d", sku, v, lines/skus)
			return
		}
		var page struct {
			Movements []struct {
				IdempotencyKey string `json:"idempotency_key"`
			}
			Next *string
		}
		if err := get("/v1/stock/"+sku+"/movements?limit=1000", &page); err != nil {
			t.Error(err)
			return
		}
		if len(page.Movements) != lines/skus || page.Next != nil {
			t.Errorf("%s has %d movements (next %v), want %d", sku, len(page.Movements), page.Next, lines/skus)
			return
		}
		for _, m := range page.Movements {
			var n int
			if _, err := fmt.Sscanf(m.IdempotencyKey[len(prefix):], "%d", &n); err != nil || m.IdempotencyKey[:len(prefix)] != prefix || n < 1 || n > lines || seen[n] || (n-1)%skus != s {
				t.Errorf("%s: movement %q (seen before: %v)", sku, m.IdempotencyKey, n >= 1 && n <= lines && seen[n])
				return
			}
			seen[n] = true
		}
	}
	// Eight readers at once: the SKUs' line numbers are disjoint, so each
	// goroutine writes its own elements of seen.
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := g; s < skus; s += 8 {
				checkSKU(s)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	op.kill()
	out, err := exec.Command(bin, "ledger", "verify", "--data-dir", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("ledger verify: %v\n%s", err, out)
	}
	t.Logf("ledger verify: %s", bytes.TrimSpace(out))
}

// startProcBin is startProc with another binary.
func startProcBin(t *testing.T, bin, name string, env []string, args ...string) *proc {
	t.Helper()
	saved := binary
	binary = bin
	defer func() { binary = saved }()
	return startProc(t, name, env, args...)
}
