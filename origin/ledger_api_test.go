package origin_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin"
	"github.com/shortstock/shortstock/origin/store"
)

func TestLedgerAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b)
		// Each write returns the view it made; time travel must give them back.
		var views []map[string]any
		write := func(method, path string, body any, hdr ...string) map[string]any {
			t.Helper()
			m := expect(t, o.admin(method, path, body, hdr...), 200, "")
			views = append(views, m)
			time.Sleep(3 * time.Millisecond) // distinct movement times (ms), not a bound
			return m
		}
		write("PUT", "/v1/stock/L-1/ams", map[string]any{"on_hand": 10, "reason": "cycle_count", "ref": "count-1"})
		write("POST", "/v1/stock/L-1/ams/adjust", map[string]any{"delta": 5, "reason": "received", "ref": "po-9"}, "Idempotency-Key", "adj-1")
		m := write("POST", "/v1/stock/L-1/transfers", map[string]any{"from": "ams", "to": "ber", "qty": 4, "ref": "tr-1"})
		ber := m["warehouses"].(map[string]any)["ber"].(map[string]any)
		if m["version"] != 3.0 || ber["on_hand"] != 4.0 || m["available"] != 15.0 {
			t.Fatalf("after transfer: %v", m)
		}

		// Idempotency-Key: the first answer again, marked; another body is 409.
		rep := o.admin("POST", "/v1/stock/L-1/ams/adjust", map[string]any{"delta": 5, "reason": "received", "ref": "po-9"}, "Idempotency-Key", "adj-1")
		if got := expect(t, rep, 200, ""); rep.header.Get("Idempotent-Replayed") != "true" || got["version"] != 2.0 {
			t.Fatalf("replay: %v %v", rep.header, got)
		}
		expect(t, o.admin("POST", "/v1/stock/L-1/ams/adjust", map[string]any{"delta": 6, "reason": "received"}, "Idempotency-Key", "adj-1"), 409, "idempotency_key_reused")
		expect(t, o.admin("PUT", "/v1/stock/L-2/ams", map[string]any{"on_hand": 5}, "Idempotency-Key", "adj-1"), 409, "idempotency_key_reused")

		// Safe writes: reason list, If-Match, transfer errors.
		expect(t, o.admin("POST", "/v1/stock/L-1/ams/adjust", map[string]any{"delta": 1, "reason": "stolen"}), 400, "invalid_reason")
		expect(t, o.admin("PUT", "/v1/stock/L-1/ams", map[string]any{"on_hand": 1, "reason": ""}), 400, "invalid_reason")
		expect(t, o.admin("POST", "/v1/stock/L-1/ams/adjust", map[string]any{"delta": 1}, "If-Match", `"2"`), 412, "version_mismatch")
		expect(t, o.admin("POST", "/v1/stock/L-1/ams/adjust", map[string]any{"delta": 1}, "If-Match", `"x"`), 400, "invalid_if_match")
		expect(t, o.admin("PUT", "/v1/stock/L-new/ams", map[string]any{"on_hand": 1}, "If-Match", `"1"`), 412, "version_mismatch")
		expect(t, o.admin("POST", "/v1/stock/L-1/transfers", map[string]any{"from": "ams", "to": "ber", "qty": -1}), 400, "invalid_quantity")
		expect(t, o.admin("POST", "/v1/stock/L-1/transfers", map[string]any{"from": "ams", "to": "ams", "qty": 1}), 400, "invalid_warehouse")
		expect(t, o.admin("POST", "/v1/stock/L-1/transfers", map[string]any{"from": "ams", "to": "ber", "qty": 12}), 409, "insufficient_stock")
		expect(t, o.admin("POST", "/v1/stock/L-1/transfers", map[string]any{"from": "zzz", "to": "ber", "qty": 1}), 404, "not_found")
		write("PUT", "/v1/stock/L-1/ber", map[string]any{"on_hand": 2, "reason": "damaged"}, "If-Match", `"3"`)

		// The ledger: every movement with who, why and the state after.
		page := expect(t, o.admin("GET", "/v1/stock/L-1/movements", nil), 200, "")
		var moves []map[string]any
		raw, _ := json.Marshal(page["movements"])
		_ = json.Unmarshal(raw, &moves)
		if len(moves) != 5 || page["next"] != nil {
			t.Fatalf("movements: %s", raw)
		}
		actor := origin.NewAdminKey(testKey, origin.ScopeAll).ID()
		want := []struct {
			wh, kind, reason, ref, ik string
			dh, oh, v                 float64
		}{
			{"ams", "set", "cycle_count", "count-1", "", 10, 10, 1},
			{"ams", "adjust", "received", "po-9", "adj-1", 5, 15, 2},
			{"ams", "transfer_out", "transfer", "tr-1", "", -4, 11, 3},
			{"ber", "transfer_in", "transfer", "tr-1", "", 4, 4, 3},
			{"ber", "set", "damaged", "", "", -2, 2, 4},
		}
		for i, w := range want {
			g := moves[i]
			if g["warehouse"] != w.wh || g["kind"] != w.kind || g["reason"] != w.reason || g["ref"] != w.ref ||
				g["idempotency_key"] != w.ik || g["delta_on_hand"] != w.dh || g["on_hand"] != w.oh || g["version"] != w.v ||
				g["actor"] != actor || g["sku"] != "L-1" || g["id"] == "" || g["cursor"] == "" {
				t.Fatalf("movement %d = %v, want %+v (actor %s)", i, g, w, actor)
			}
			if g["actor"] == testKey {
				t.Fatal("the ledger holds the admin key itself")
			}
		}
		// Paging with a cursor, and the warehouse filter.
		p1 := expect(t, o.admin("GET", "/v1/stock/L-1/movements?limit=2", nil), 200, "")
		next, ok := p1["next"].(string)
		if !ok || len(p1["movements"].([]any)) != 2 {
			t.Fatalf("page 1: %v", p1)
		}
		p2 := expect(t, o.admin("GET", "/v1/stock/L-1/movements?limit=10&after="+next, nil), 200, "")
		if got := p2["movements"].([]any); len(got) != 3 || got[0].(map[string]any)["kind"] != "transfer_out" {
			t.Fatalf("page 2: %v", p2)
		}
		pb := expect(t, o.admin("GET", "/v1/stock/L-1/movements?warehouse=ber", nil), 200, "")
		if got := pb["movements"].([]any); len(got) != 2 {
			t.Fatalf("warehouse filter: %v", pb)
		}
		expect(t, o.admin("GET", "/v1/stock/L-1/movements?limit=1001", nil), 400, "invalid_limit")
		expect(t, o.admin("GET", "/v1/stock/L-1/movements?after=x", nil), 400, "invalid_cursor")

		// Time travel: at each write's movement time, the view that write made.
		viewAt := []int{0, 1, 2, 4} // movement index of each write (the transfer has two)
		for i, mi := range viewAt {
			at := moves[mi]["at"].(string)
			if mi == 2 {
				at = moves[3]["at"].(string)
			}
			got := expect(t, o.admin("GET", "/v1/stock/L-1?at="+at, nil), 200, "")
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(views[i])
			if string(gj) != string(wj) {
				t.Fatalf("at %s:\n got  %s\n want %s", at, gj, wj)
			}
		}
		first, _ := time.Parse(time.RFC3339Nano, moves[0]["at"].(string))
		expect(t, o.admin("GET", "/v1/stock/L-1?at="+first.Add(-time.Millisecond).Format(time.RFC3339Nano), nil), 400, "at_before_first_movement")
		expect(t, o.admin("GET", "/v1/stock/L-1?at=yesterday", nil), 400, "invalid_at")
		expect(t, o.admin("GET", "/v1/stock/NOPE?at="+first.Format(time.RFC3339), nil), 404, "not_found")
	})
}

func TestLedgerVerifyRebuildAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b)
		expect(t, o.admin("PUT", "/v1/stock/V-1/ams", map[string]any{"on_hand": 8}), 200, "")
		expect(t, o.admin("PUT", "/v1/stock/V-2/ams", map[string]any{"on_hand": 3}), 200, "")
		m := expect(t, o.admin("GET", "/v1/ledger/verify", nil), 200, "")
		if m["checked"] != 2.0 || len(m["differences"].([]any)) != 0 {
			t.Fatalf("verify of a sound store: %v", m)
		}
		// Damage V-2's view behind the API's back.
		page, err := o.store.Movements(t.Context(), store.MovementQuery{SKU: "V-2"})
		if err != nil || len(page.Movements) != 1 {
			t.Fatalf("%+v %v", page, err)
		}
		bad := store.StockView{SKU: "V-2", Version: 1, Available: 50, Warehouses: map[string]store.WarehouseStock{"ams": {OnHand: 50, Available: 50}}}
		if err := o.store.RebuildStock(t.Context(), bad, page.Movements[0].Seq); err != nil {
			t.Fatal(err)
		}
		m = expect(t, o.admin("GET", "/v1/ledger/verify", nil), 200, "")
		diffs := m["differences"].([]any)
		if len(diffs) != 1 || diffs[0].(map[string]any)["sku"] != "V-2" {
			t.Fatalf("verify of a damaged view: %v", m)
		}
		if m = expect(t, o.admin("GET", "/v1/ledger/verify?sku=V-1", nil), 200, ""); m["checked"] != 1.0 || len(m["differences"].([]any)) != 0 {
			t.Fatalf("verify of one sound SKU: %v", m)
		}
		m = expect(t, o.admin("POST", "/v1/stock/V-2/rebuild", nil), 200, "")
		if m["rebuilt"] != true || m["view"].(map[string]any)["available"] != 3.0 {
			t.Fatalf("rebuild: %v", m)
		}
		if m = expect(t, o.admin("POST", "/v1/stock/V-2/rebuild", nil), 200, ""); m["rebuilt"] != false {
			t.Fatalf("second rebuild: %v", m)
		}
		if m = expect(t, o.admin("GET", "/v1/ledger/verify", nil), 200, ""); len(m["differences"].([]any)) != 0 {
			t.Fatalf("verify after rebuild: %v", m)
		}
		expect(t, o.admin("POST", "/v1/stock/NOPE/rebuild", nil), 404, "not_found")
		expect(t, o.admin("GET", "/v1/ledger/verify?sku=-x", nil), 400, "invalid_sku")
	})
}

// TestHeldPastExpiryReadsExpired: with the sweep far away, a hold past
// expires_at reads expired at once.
func TestHeldPastExpiryReadsExpired(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b, func(c *origin.Config) { c.ExpireInterval = time.Hour })
		expect(t, o.admin("PUT", "/v1/stock/EX-1/w1", map[string]any{"on_hand": 5}), 200, "")
		r := expect(t, o.admin("POST", "/v1/reservations", map[string]any{"sku": "EX-1", "qty": 2, "ttl_seconds": 60}), 201, "")
		id := r["id"].(string)
		if got := expect(t, o.admin("GET", "/v1/reservations/"+id, nil), 200, ""); got["status"] != "held" {
			t.Fatalf("before expiry: %v", got)
		}
		// Extend: 120 s from now.
		o.clock.Advance(30 * time.Second)
		got := expect(t, o.admin("POST", "/v1/reservations/"+id+"/extend", map[string]any{"ttl_seconds": 120}), 200, "")
		if exp, _ := time.Parse(time.RFC3339, got["expires_at"].(string)); got["status"] != "held" || !exp.Equal(o.clock.Now().Add(120*time.Second)) {
			t.Fatalf("extend: %v", got)
		}
		expect(t, o.admin("POST", "/v1/reservations/"+id+"/extend", map[string]any{"ttl_seconds": 0}), 400, "invalid_ttl")
		o.clock.Advance(120 * time.Second)
		if got := expect(t, o.admin("GET", "/v1/reservations/"+id, nil), 200, ""); got["status"] != "expired" {
			t.Fatalf("at expires_at: %v", got)
		}
		expect(t, o.admin("POST", "/v1/reservations/"+id+"/extend", map[string]any{"ttl_seconds": 60}), 409, "reservation_expired")
	})
}
