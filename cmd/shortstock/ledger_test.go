package main

import (
	"context"
	"strings"
	"testing"

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
