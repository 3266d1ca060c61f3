package faults

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// auditResult is what the admin API shows once the faults are over.
type auditResult struct {
	oversells, negative              int64 // warehouses where committed + held > initial on_hand; negative numbers
	reservedMismatch, onHandMismatch int64 // warehouses where reserved != our live holds, on_hand != initial - our commits
	lostAcks                         int64 // acknowledged outcomes the store no longer shows
}

// audit reads every reservation this run made and every SKU's stock, and
// checks them against what the clients were told.
func audit(t *testing.T, api *admin, wfs []*workflow, skus []string, warehouses int, onHand int64, tl *tally) auditResult {
	t.Helper()
	var res auditResult
	committed := map[whKey]int64{}
	held := map[whKey]int64{}
	var mu sync.Mutex
	type hold struct {
		w  *workflow
		id string
	}
	var holds []hold
	for _, w := range wfs {
		switch {
		case w.res == resOK:
			holds = append(holds, hold{w, w.id})
		case w.lateID != "":
			holds = append(holds, hold{w, w.lateID})
		}
	}
	forEach(16, holds, func(_ int, j hold) {
		w := j.w
		ans, err := api.do(t.Context(), "GET", "/v1/reservations/"+j.id, "")
		var r reservation
		mu.Lock()
		defer mu.Unlock()
		if err != nil || ans.status != http.StatusOK || ans.json(&r) != nil {
			res.lostAcks++
			tl.note("audit: reservation %s of %s: %d %s (%v)", j.id, w.key, ans.status, ans.body, err)
			return
		}
		switch r.Status {
		case "committed":
			committed[w.wh] += r.Qty
		case "held":
			held[w.wh] += r.Qty
		}
		// What the client was told must still be true. A hold resolved
		// late was never followed up, so it is held.
		want := map[opKind]string{opCommit: "committed", opRelease: "released", opReserve: "held"}[w.then]
		told := w.followed == resOK || w.then == opReserve
		if j.id == w.lateID {
			want, told = "held", true
		}
		if told && r.Status != want {
			res.lostAcks++
			tl.note("audit: %s acknowledged %s, store says %s", j.id, want, r.Status)
		}
	})

	for _, sku := range skus {
		var v stockView
		if err := api.must(t, "GET", "/v1/stock/"+sku, "").json(&v); err != nil {
			t.Fatal(err)
		}
		for i := range warehouses {
			k := whKey{sku, i}
			w := v.Warehouses[whName(i)]
			if w.OnHand < 0 || w.Reserved < 0 || w.Available < 0 || v.Available < 0 {
				res.negative++
			}
			if committed[k]+held[k] > onHand || w.Reserved > w.OnHand {
				res.oversells++
			}
			if w.Reserved != held[k] {
				res.reservedMismatch++
				tl.note("audit: %s/%s reserved %d, live holds of this run %d", sku, whName(i), w.Reserved, held[k])
			}
			if w.OnHand != onHand-committed[k] {
				res.onHandMismatch++
				tl.note("audit: %s/%s on_hand %d, want %d - %d committed", sku, whName(i), w.OnHand, onHand, committed[k])
			}
		}
	}
	return res
}

// checkLinearizable runs porcupine on every warehouse's history. It
// returns how many were illegal and how many timed out; for an illegal one
// it writes porcupine's visualization next to the test's temp files and
// logs the path.
func checkLinearizable(t *testing.T, h *history, onHand int64) (illegal, unknown, ops, maxOps int) {
	keys := make([]whKey, 0, len(h.ops))
	for k := range h.ops {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].sku < keys[j].sku || keys[i].sku == keys[j].sku && keys[i].wh < keys[j].wh
	})
	model := warehouseModel(onHand)
	for _, k := range keys {
		hist := h.ops[k]
		ops += len(hist)
		maxOps = max(maxOps, len(hist))
		res, info := porcupine.CheckOperationsVerbose(model, hist, 10*time.Second)
		switch res {
		case porcupine.Illegal:
			illegal++
			if illegal > 3 {
				break // a few pictures are enough to debug
			}
			path := filepath.Join(os.TempDir(), fmt.Sprintf("shortstock-faults-%s-%s.html", k.sku, whName(k.wh)))
			if err := porcupine.VisualizePath(model, info, path); err == nil {
				t.Logf("%s/%s is not linearizable; porcupine's view: %s", k.sku, whName(k.wh), path)
			}
		case porcupine.Unknown:
			unknown++
		}
	}
	return illegal, unknown, ops, maxOps
}
