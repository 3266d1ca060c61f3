package bench

import (
	"strings"
	"testing"

	"github.com/shortstock/shortstock/origin/store"
)

func view(sku string, whs map[string]store.WarehouseStock) store.StockView {
	v := store.StockView{SKU: sku, Version: 7, Warehouses: whs}
	for _, w := range whs {
		v.Available += w.Available
	}
	return v
}

func wh(onHand, reserved int64) store.WarehouseStock {
	return store.WarehouseStock{OnHand: onHand, Reserved: reserved, Available: onHand - reserved}
}

func TestAuditPassesAConsistentState(t *testing.T) {
	// 10 supplied, +5 adjusted, 4 committed (on_hand 11), 3 held.
	want := map[string]map[string]whLedger{"S": {"w1": {Supplied: 15, Committed: 4, Held: 3}}}
	res := audit(want, map[string]store.StockView{"S": view("S", map[string]store.WarehouseStock{"w1": wh(11, 3)})})
	if res.Oversells != 0 || res.Mismatches != 0 || res.SKUs != 1 {
		t.Fatalf("%+v", res)
	}
}

// The audit is what catches an oversell: fed a fabricated state in which
// the origin committed and held more than was ever supplied, it must say
// so, however self-consistent the origin's own numbers look.
func TestAuditCatchesAnOversell(t *testing.T) {
	// 10 supplied; the bench was told 8 committed and 5 held: 13 > 10.
	want := map[string]map[string]whLedger{"S": {"w1": {Supplied: 10, Committed: 8, Held: 5}}}
	// The origin's view: on_hand 2, reserved 5, available -3.
	bad := map[string]store.StockView{"S": {SKU: "S", Available: -3, Warehouses: map[string]store.WarehouseStock{"w1": {OnHand: 2, Reserved: 5, Available: -3}}}}
	res := audit(want, bad)
	if res.Oversells == 0 {
		t.Fatalf("no oversell found in %+v", res)
	}
	if !strings.Contains(strings.Join(res.Findings, "\n"), "committed 8 + held 5 > 10") {
		t.Errorf("findings do not name the oversell: %q", res.Findings)
	}

	// An origin that hides it (clamps available at 0, on_hand looks
	// fine) is still caught by the ledger: committed + held > supplied.
	hidden := map[string]store.StockView{"S": view("S", map[string]store.WarehouseStock{"w1": wh(5, 5)})}
	if res := audit(want, hidden); res.Oversells != 1 {
		t.Errorf("oversell hidden by the origin's numbers not caught: %+v", res)
	}
}

func TestAuditCatchesMismatches(t *testing.T) {
	want := map[string]map[string]whLedger{"S": {"w1": {Supplied: 10, Held: 2}}}
	cases := map[string]store.StockView{
		"reserved is not the sum of held":   view("S", map[string]store.WarehouseStock{"w1": wh(10, 3)}),
		"on_hand is not supplied-committed": view("S", map[string]store.WarehouseStock{"w1": wh(9, 2)}),
		"available is not on_hand-reserved": view("S", map[string]store.WarehouseStock{"w1": {OnHand: 10, Reserved: 2, Available: 7}}),
	}
	for name, v := range cases {
		res := audit(want, map[string]store.StockView{"S": v})
		if res.Mismatches == 0 || res.Oversells != 0 {
			t.Errorf("%s: %+v", name, res)
		}
	}
	if res := audit(want, map[string]store.StockView{}); res.Mismatches != 1 {
		t.Errorf("a missing stock view: %+v", res)
	}
}

// Lost answers loosen exact checks to bounds instead of inventing findings.
func TestAuditBoundsLostAnswers(t *testing.T) {
	// An adjust of +4 whose answer was lost: on_hand may be 10 or 14.
	want := map[string]map[string]whLedger{"S": {"w1": {Supplied: 10, MaybeUp: 4}}}
	for _, onHand := range []int64{10, 14} {
		if res := audit(want, map[string]store.StockView{"S": view("S", map[string]store.WarehouseStock{"w1": wh(onHand, 0)})}); res.Oversells+res.Mismatches != 0 || res.Uncertain != 1 {
			t.Errorf("on_hand %d: %+v", onHand, res)
		}
	}
	if res := audit(want, map[string]store.StockView{"S": view("S", map[string]store.WarehouseStock{"w1": wh(15, 0)})}); res.Mismatches != 1 {
		t.Errorf("on_hand 15 outside [10,14] not flagged: %+v", res)
	}
}

// The ledger folds reservations into committed and held per warehouse.
func TestLedgerExpected(t *testing.T) {
	l := newLedger()
	l.set("S", "w1", 10)
	l.set("S", "w2", 5)
	l.touch("S")
	l.adjusted("S", "w1", 3, true)
	l.adjusted("S", "w2", -1, false)
	for _, r := range []*reservation{
		{sku: "S", warehouse: "w1", id: "a", qty: 2, status: store.StatusCommitted},
		{sku: "S", warehouse: "w1", id: "b", qty: 1, status: store.StatusHeld},
		{sku: "S", warehouse: "w2", id: "c", qty: 4, status: store.StatusReleased},
		{sku: "S", warehouse: "w2", id: "d", qty: 1, status: ""},
	} {
		l.add(r)
	}
	got := l.expected()["S"]
	if w1 := got["w1"]; w1.Supplied != 13 || w1.Committed != 2 || w1.Held != 1 || w1.Unresolved != 0 {
		t.Errorf("w1 %+v", w1)
	}
	if w2 := got["w2"]; w2.Supplied != 5 || w2.MaybeDown != 1 || w2.Held != 0 || w2.Unresolved != 1 {
		t.Errorf("w2 %+v", w2)
	}
	if n := len(l.unsettled()); n != 1 {
		t.Errorf("%d unsettled, want 1", n)
	}
}
