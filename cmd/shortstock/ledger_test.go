package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/testutil"

	"github.com/shortstock/shortstock/origin/embedded"
	"github.com/shortstock/shortstock/origin/store"
)

// TestLedgerVerifyRebuildCLI damages one SKU's stock view (through the
// store's own rebuild call, with a wrong view) and drives the binary:
// verify exits 1 naming that SKU, rebuild puts it right, verify passes.
func TestLedgerVerifyRebuildCLI(t *testing.T) {
	dir := t.TempDir()
	st, err := embedded.Open(embedded.DefaultConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, sku := range []string{"good-1", "bad-1", "good-2"} {
		if _, err := st.SetStock(ctx, sku, "w1", 5); err != nil {
			t.Fatal(err)
		}
		if _, err := st.AdjustStock(ctx, sku, "w1", 2); err != nil {
			t.Fatal(err)
		}
	}
	page, err := st.Movements(ctx, store.MovementQuery{SKU: "bad-1"})
	if err != nil || len(page.Movements) != 2 {
		t.Fatalf("movements: %+v, %v", page, err)
	}
	bad := store.StockView{SKU: "bad-1", Version: 2, Available: 70, Warehouses: map[string]store.WarehouseStock{"w1": {OnHand: 70, Available: 70}}}
	if err := st.RebuildStock(ctx, bad, page.Movements[1].Seq); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runCLI(t, nil, "ledger", "verify", "--data-dir", dir)
	if code != 1 || !strings.Contains(errOut, "bad-1") || strings.Contains(errOut, "good-") || !strings.Contains(out, `"sku":"bad-1"`) {
		t.Fatalf("verify of a damaged view: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, []string{"SHORTSTOCK_DATA_DIR=" + dir}, "ledger", "rebuild")
	if code != 0 || !strings.Contains(out, `{"rebuilt":"bad-1"}`) || strings.Count(out, "rebuilt") != 1 {
		t.Fatalf("rebuild: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	if code, out, errOut = runCLI(t, nil, "ledger", "verify", "--data-dir", dir); code != 0 {
		t.Fatalf("verify after rebuild: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	if code, _, errOut = runCLI(t, nil, "ledger", "verify", "--data-dir", dir, "--sku", "bad sku"); code != 2 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Fatalf("bad --sku: exit %d, stderr %q", code, errOut)
	}
	if code, _, _ = runCLI(t, nil, "ledger", "frobnicate"); code != 2 {
		t.Fatalf("unknown subcommand: exit %d", code)
	}

	st, err = embedded.Open(embedded.DefaultConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if v, err := st.GetStock(ctx, "bad-1"); err != nil || v.Warehouses["w1"].OnHand != 7 {
		t.Fatalf("bad-1 after rebuild: %+v, %v", v, err)
	}
}

// TestLedgerSurvivesKill9 runs concurrent adjusts, transfers, sets and
// reservations against a real origin process on the embedded store, kills
// it with SIGKILL mid-run, restarts it, writes some more, and then requires
// `shortstock ledger verify` to find every SKU's view equal to its ledger
// replayed (the state change and its movements commit together or not at
// all).
func TestLedgerSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	addr := testutil.FreeAddr(t)
	base := "http://" + addr
	env := []string{"SHORTSTOCK_ADMIN_KEY=" + adminKey, secretEnv}
	skus := []string{"K9-a", "K9-b", "K9-c", "K9-d"}

	run := func(p *proc, kill bool) {
		waitHTTP(t, base+"/_/readyz")
		for _, sku := range skus {
			for _, wh := range []string{"w1", "w2"} {
				if c, m := call(t, "PUT", base+"/v1/stock/"+sku+"/"+wh, `{"on_hand":50,"reason":"cycle_count"}`); c != 200 {
					t.Fatalf("set: %d %v", c, m)
				}
			}
		}
		var acked atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for g := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					sku := skus[(g+i)%len(skus)]
					var method, path, body string
					switch i % 4 {
					case 0:
						method, path, body = "POST", "/v1/stock/"+sku+"/w1/adjust", fmt.Sprintf(`{"delta":%d,"reason":"correction"}`, i%7-3+boolInt(i%7 == 3))
					case 1:
						method, path, body = "POST", "/v1/stock/"+sku+"/transfers", `{"from":"w1","to":"w2","qty":1}`
					case 2:
						method, path, body = "POST", "/v1/reservations", fmt.Sprintf(`{"sku":%q,"qty":1,"ttl_seconds":1}`, sku)
					default:
						method, path, body = "POST", "/v1/stock/"+sku+"/transfers", `{"from":"w2","to":"w1","qty":1}`
					}
					req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+adminKey)
					res, err := http.DefaultClient.Do(req)
					if err != nil {
						if kill {
							return // the origin is gone
						}
						t.Errorf("%s %s: %v", method, path, err)
						return
					}
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode < 300 {
						acked.Add(1)
					}
				}
			}()
		}
		deadline := time.Now().Add(20 * time.Second)
		for acked.Load() < 300 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if kill {
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
		}
		close(stop)
		wg.Wait()
		if acked.Load() < 300 {
			t.Fatalf("only %d writes acknowledged", acked.Load())
		}
	}
	run(start(t, env, "origin", "--listen", addr, "--data-dir", dir), true)
	p2 := start(t, env, "origin", "--listen", addr, "--data-dir", dir)
	run(p2, false)
	p2.stopWith(t, syscall.SIGTERM, 20*time.Second)

	code, out, errOut := runCLI(t, nil, "ledger", "verify", "--data-dir", dir)
	if code != 0 || !strings.Contains(errOut, fmt.Sprintf("%d SKUs checked", len(skus))) {
		t.Fatalf("verify after kill -9: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
