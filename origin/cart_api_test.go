package origin_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shortstock/shortstock/origin"
)

func TestCartAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b, func(c *origin.Config) { c.ExpireInterval = time.Hour })
		for sku, n := range map[string]int{"CA-a": 5, "CA-b": 3, "CA-c": 1} {
			expect(t, o.admin("PUT", "/v1/stock/"+sku+"/w1", map[string]any{"on_hand": n}), 200, "")
		}
		reserved := func(sku string) float64 {
			t.Helper()
			v := expect(t, o.admin("GET", "/v1/stock/"+sku, nil), 200, "")
			return v["warehouses"].(map[string]any)["w1"].(map[string]any)["reserved"].(float64)
		}

		// The last line fails: nothing stays held (compensated at once).
		expect(t, o.admin("POST", "/v1/reservations", map[string]any{"lines": []map[string]any{
			{"sku": "CA-a", "qty": 2}, {"sku": "CA-b", "qty": 1}, {"sku": "CA-c", "qty": 2},
		}}), 409, "insufficient_stock")
		for _, sku := range []string{"CA-a", "CA-b", "CA-c"} {
			if r := reserved(sku); r != 0 {
				t.Fatalf("a failed cart left %v of %s reserved", r, sku)
			}
		}
		expect(t, o.admin("POST", "/v1/reservations", map[string]any{"lines": []map[string]any{{"sku": "CA-a", "qty": 1}, {"sku": "NOPE", "qty": 1}}}), 404, "not_found")
		if r := reserved("CA-a"); r != 0 {
			t.Fatalf("a cart with an unknown SKU left %v reserved", r)
		}

		// A cart that fits: all lines held, one id, one expiry.
		c := expect(t, o.admin("POST", "/v1/reservations", map[string]any{"ttl_seconds": 60, "lines": []map[string]any{
			{"sku": "CA-b", "qty": 3, "warehouse": "w1"}, {"sku": "CA-a", "qty": 2},
		}}, "Idempotency-Key", "cart-1"), 201, "")
		id := c["id"].(string)
		lines := c["lines"].([]any)
		if !strings.HasPrefix(id, "c_") || c["status"] != "held" || len(lines) != 2 ||
			lines[0].(map[string]any)["sku"] != "CA-b" || lines[1].(map[string]any)["qty"] != 2.0 {
			t.Fatalf("cart: %v", c)
		}
		if reserved("CA-a") != 2 || reserved("CA-b") != 3 {
			t.Fatal("cart holds missing")
		}
		// A retry with the same key replays it.
		rep := o.admin("POST", "/v1/reservations", map[string]any{"ttl_seconds": 60, "lines": []map[string]any{
			{"sku": "CA-b", "qty": 3, "warehouse": "w1"}, {"sku": "CA-a", "qty": 2},
		}}, "Idempotency-Key", "cart-1")
		if got := expect(t, rep, 201, ""); got["id"] != id || rep.header.Get("Idempotent-Replayed") != "true" || reserved("CA-a") != 2 {
			t.Fatalf("replay: %v %v", got, rep.header)
		}
		if got := expect(t, o.admin("GET", "/v1/reservations/"+id, nil), 200, ""); got["status"] != "held" || len(got["lines"].([]any)) != 2 {
			t.Fatalf("get cart: %v", got)
		}
		got := expect(t, o.admin("POST", "/v1/reservations/"+id+"/extend", map[string]any{"ttl_seconds": 600}), 200, "")
		if exp, _ := time.Parse(time.RFC3339, got["expires_at"].(string)); !exp.Equal(o.clock.Now().Add(600 * time.Second)) {
			t.Fatalf("extend cart: %v", got)
		}
		got = expect(t, o.admin("POST", "/v1/reservations/"+id+"/commit", nil), 200, "")
		if got["status"] != "committed" || reserved("CA-a") != 0 {
			t.Fatalf("commit cart: %v", got)
		}
		v := expect(t, o.admin("GET", "/v1/stock/CA-b", nil), 200, "")
		if v["available"] != 0.0 {
			t.Fatalf("CA-b after the sale: %v", v)
		}

		// A cart past its expiry cannot be committed, line by line or whole.
		c2 := expect(t, o.admin("POST", "/v1/reservations", map[string]any{"ttl_seconds": 10, "lines": []map[string]any{{"sku": "CA-a", "qty": 1}, {"sku": "CA-c", "qty": 1}}}), 201, "")
		o.clock.Advance(10 * time.Second)
		if got := expect(t, o.admin("GET", "/v1/reservations/"+c2["id"].(string), nil), 200, ""); got["status"] != "expired" {
			t.Fatalf("expired cart reads %v", got)
		}
		expect(t, o.admin("POST", "/v1/reservations/"+c2["id"].(string)+"/commit", nil), 409, "reservation_expired")
		if reserved("CA-c") != 1 { // still held in storage until the sweep or a release
			t.Fatal("a refused cart commit changed a line")
		}
		expect(t, o.admin("POST", "/v1/reservations/"+c2["id"].(string)+"/release", nil), 200, "")
		if reserved("CA-a") != 0 || reserved("CA-c") != 0 {
			t.Fatal("release of the cart left holds")
		}

		expect(t, o.admin("GET", "/v1/reservations/c_nonsense", nil), 404, "not_found")
		expect(t, o.admin("POST", "/v1/reservations", map[string]any{"lines": []map[string]any{}}), 400, "invalid_cart")
		expect(t, o.admin("POST", "/v1/reservations", map[string]any{"sku": "CA-a", "lines": []map[string]any{{"sku": "CA-a", "qty": 1}}}), 400, "invalid_cart")
		expect(t, o.admin("POST", "/v1/reservations", map[string]any{"lines": []map[string]any{{"sku": "CA-a", "qty": 0}}}), 400, "invalid_quantity")
	})
}
