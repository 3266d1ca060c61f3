package origin_test

import (
	"testing"
)

// TestIdempotencyKeyIsGlobal: an Idempotency-Key names one request across
// the whole API (README: "the same key for a different request is 409
// idempotency_key_reused"), not one per SKU: reused for another SKU, body
// or kind of write it is refused and nothing changes, on reservations,
// carts and stock writes alike.
func TestIdempotencyKeyIsGlobal(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b)
		for _, sku := range []string{"IG-1", "IG-2"} {
			expect(t, o.admin("PUT", "/v1/stock/"+sku+"/a", map[string]any{"on_hand": 10}), 200, "")
		}
		available := func(sku string) float64 {
			t.Helper()
			return expect(t, o.admin("GET", "/v1/stock/"+sku, nil), 200, "")["available"].(float64)
		}

		// A reservation's key.
		first := expect(t, o.admin("POST", "/v1/reservations", map[string]any{"sku": "IG-1", "qty": 1}, "Idempotency-Key", "order-7"), 201, "")
		again := o.admin("POST", "/v1/reservations", map[string]any{"sku": "IG-1", "qty": 1}, "Idempotency-Key", "order-7")
		if m := expect(t, again, 201, ""); m["id"] != first["id"] || again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("repeat: %v (replayed %q), want the first answer %v", m, again.header.Get("Idempotent-Replayed"), first)
		}
		expect(t, o.admin("POST", "/v1/reservations", map[string]any{"sku": "IG-1", "qty": 2}, "Idempotency-Key", "order-7"), 409, "idempotency_key_reused")
		expect(t, o.admin("POST", "/v1/reservations", map[string]any{"sku": "IG-2", "qty": 1}, "Idempotency-Key", "order-7"), 409, "idempotency_key_reused")
		expect(t, o.admin("POST", "/v1/stock/IG-2/a/adjust", map[string]any{"delta": 1}, "Idempotency-Key", "order-7"), 409, "idempotency_key_reused")
		expect(t, o.admin("PUT", "/v1/stock/IG-2/a", map[string]any{"on_hand": 3}, "Idempotency-Key", "order-7"), 409, "idempotency_key_reused")

		// A stock write's key.
		expect(t, o.admin("POST", "/v1/stock/IG-1/a/adjust", map[string]any{"delta": 5, "reason": "received"}, "Idempotency-Key", "po-1"), 200, "")
		expect(t, o.admin("POST", "/v1/stock/IG-1/a/adjust", map[string]any{"delta": 6, "reason": "received"}, "Idempotency-Key", "po-1"), 409, "idempotency_key_reused")
		expect(t, o.admin("POST", "/v1/stock/IG-1/transfers", map[string]any{"from": "a", "to": "b", "qty": 1}, "Idempotency-Key", "po-1"), 409, "idempotency_key_reused")
		expect(t, o.admin("POST", "/v1/reservations", map[string]any{"sku": "IG-2", "qty": 1}, "Idempotency-Key", "po-1"), 409, "idempotency_key_reused")

		// A cart's key: reused with other lines it is refused, and the
		// first cart's holds stay (undoing the refused cart must not
		// release the lines it shares with the first).
		cart := expect(t, o.admin("POST", "/v1/reservations", map[string]any{"lines": []map[string]any{{"sku": "IG-1", "qty": 1}, {"sku": "IG-2", "qty": 1}}}, "Idempotency-Key", "cart-1"), 201, "")
		expect(t, o.admin("POST", "/v1/reservations", map[string]any{"lines": []map[string]any{{"sku": "IG-1", "qty": 1}, {"sku": "IG-2", "qty": 2}}}, "Idempotency-Key", "cart-1"), 409, "idempotency_key_reused")
		if m := expect(t, o.admin("GET", "/v1/reservations/"+cart["id"].(string), nil), 200, ""); m["status"] != "held" {
			t.Fatalf("the first cart after a refused reuse of its key: %v, want held", m)
		}

		// Nothing refused changed anything: IG-1 has 10+5 on hand, the
		// reservation and a cart line held; IG-2 10 and a cart line.
		if got := available("IG-1"); got != 13 {
			t.Errorf("IG-1 available %v, want 13", got)
		}
		if got := available("IG-2"); got != 9 {
			t.Errorf("IG-2 available %v, want 9", got)
		}
	})
}
