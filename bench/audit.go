package bench

import (
	"fmt"
	"maps"
	"slices"

	"github.com/shortstock/shortstock/origin/store"
)

// AuditResult is what the stock audit found.
type AuditResult struct {
	// SKUs is how many SKUs were audited: every one a write touched.
	SKUs int `json:"skus"`
	// Oversells counts SKU warehouses (and SKUs) where more was promised
	// than there was: committed + held above everything ever supplied,
	// reserved above on_hand, or available below zero. Must be 0.
	Oversells int `json:"oversells"`
	// Mismatches counts other disagreements between the origin and the
	// bench's ledger: reserved not the sum of held reservations, on_hand
	// not supplied - committed, available not on_hand - reserved.
	Mismatches int `json:"mismatches"`
	// Uncertain counts warehouses with a reservation or adjust whose fate
	// stayed unknown: their exact checks were loosened to bounds.
	Uncertain int `json:"uncertain"`
	// Findings describes the first problems found.
	Findings []string `json:"findings,omitempty"`
}

const maxFindings = 20

// audit checks the origin's final stock views against the ledger of what
// the bench did (want: SKU -> warehouse). It is a pure function, so a test
// can feed it a fabricated inconsistent state.
func audit(want map[string]map[string]whLedger, views map[string]store.StockView) AuditResult {
	var res AuditResult
	find := func(oversell bool, format string, a ...any) {
		if oversell {
			res.Oversells++
		} else {
			res.Mismatches++
		}
		if len(res.Findings) < maxFindings {
			kind := "mismatch"
			if oversell {
				kind = "OVERSELL"
			}
			res.Findings = append(res.Findings, kind+": "+fmt.Sprintf(format, a...))
		}
	}
	skus := make([]string, 0, len(want))
	for s := range want {
		skus = append(skus, s)
	}
	slices.Sort(skus)
	for _, sku := range skus {
		res.SKUs++
		v, ok := views[sku]
		if !ok {
			find(false, "%s: the origin has no stock view", sku)
			continue
		}
		if v.Available < 0 {
			find(true, "%s: available %d", sku, v.Available)
		}
		var sum int64
		for _, w := range v.Warehouses {
			sum += w.Available
		}
		if sum != v.Available {
			find(false, "%s: available %d is not the sum of its warehouses' %d", sku, v.Available, sum)
		}
		whs := map[string]bool{}
		for wh := range want[sku] {
			whs[wh] = true
		}
		for wh := range v.Warehouses {
			whs[wh] = true
		}
		for _, wh := range slices.Sorted(maps.Keys(whs)) {
			auditWarehouse(sku, wh, want[sku][wh], v.Warehouses[wh], &res, find)
		}
	}
	return res
}

func auditWarehouse(sku, wh string, l whLedger, w store.WarehouseStock, res *AuditResult, find func(bool, string, ...any)) {
	at := sku + "/" + wh
	if w.Available < 0 || w.Reserved > w.OnHand {
		find(true, "%s: on_hand %d, reserved %d, available %d", at, w.OnHand, w.Reserved, w.Available)
	}
	if w.Available != w.OnHand-w.Reserved {
		find(false, "%s: available %d is not on_hand %d - reserved %d", at, w.Available, w.OnHand, w.Reserved)
	}
	if supply := l.Supplied + l.MaybeUp; l.Committed+l.Held > supply {
		find(true, "%s: committed %d + held %d > %d ever supplied", at, l.Committed, l.Held, supply)
	}
	uncertain := l.Unresolved > 0 || l.MaybeUp > 0 || l.MaybeDown > 0
	if uncertain {
		res.Uncertain++
	}
	switch {
	case l.Unresolved == 0 && w.Reserved != l.Held:
		find(false, "%s: reserved %d, but the bench holds %d", at, w.Reserved, l.Held)
	case l.Unresolved > 0 && w.Reserved < l.Held:
		find(false, "%s: reserved %d, but the bench holds at least %d", at, w.Reserved, l.Held)
	}
	// on_hand falls by what was committed; lost adjusts widen the window.
	lo := l.Supplied - l.MaybeDown - l.Committed
	hi := l.Supplied + l.MaybeUp - l.Committed
	if l.Unresolved == 0 && (w.OnHand < lo || w.OnHand > hi) {
		if lo == hi {
			find(false, "%s: on_hand %d, but supplied %d - committed %d = %d", at, w.OnHand, l.Supplied, l.Committed, lo)
		} else {
			find(false, "%s: on_hand %d outside [%d, %d] (supplied %d, committed %d, lost adjusts)", at, w.OnHand, lo, hi, l.Supplied, l.Committed)
		}
	}
}
