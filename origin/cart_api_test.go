package origin_test

import (
	"strings"
	"sync"
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

// TestCartsConcurrentNoOversell: concurrent carts (committed, released or
// left held) and transfers over a few SKUs never oversell; afterwards
// on_hand is the start minus what committed carts sold, reserved is what
// held carts hold, and every view equals its ledger replayed.
func TestCartsConcurrentNoOversell(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b, func(c *origin.Config) { c.ExpireInterval = time.Hour })
		skus := []string{"CN-a", "CN-b", "CN-c"}
		for _, sku := range skus {
			expect(t, o.admin("PUT", "/v1/stock/"+sku+"/w1", map[string]any{"on_hand": 20}), 200, "")
			expect(t, o.admin("PUT", "/v1/stock/"+sku+"/w2", map[string]any{"on_hand": 0}), 200, "")
		}
		var mu sync.Mutex
		sold, held := map[string]float64{}, map[string]float64{}
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 12 {
					n := 1 + (g+i)%3
					var lines []map[string]any
					for j := range n {
						lines = append(lines, map[string]any{"sku": skus[(g+i+j)%3], "qty": 1 + (i+j)%3})
					}
					r := o.admin("POST", "/v1/reservations", map[string]any{"ttl_seconds": 3600, "lines": lines})
					if i%5 == 4 { // move stock about meanwhile
						o.admin("POST", "/v1/stock/"+skus[i%3]+"/transfers", map[string]any{"from": "w1", "to": "w2", "qty": 1})
						o.admin("POST", "/v1/stock/"+skus[i%3]+"/transfers", map[string]any{"from": "w2", "to": "w1", "qty": 1})
					}
					if r.status == 409 {
						continue
					}
					if r.status != 201 {
						t.Errorf("cart: %d %s", r.status, r.body)
						return
					}
					c := r.json(t)
					id := c["id"].(string)
					action := "keep"
					switch i % 3 {
					case 0:
						action = "commit"
					case 1:
						action = "release"
					}
					if action != "keep" {
						if r := o.admin("POST", "/v1/reservations/"+id+"/"+action, nil); r.status != 200 {
							t.Errorf("%s: %d %s", action, r.status, r.body)
							return
						}
					}
					mu.Lock()
					for _, l := range c["lines"].([]any) {
						line := l.(map[string]any)
						switch action {
						case "commit":
							sold[line["sku"].(string)] += line["qty"].(float64)
						case "keep":
							held[line["sku"].(string)] += line["qty"].(float64)
						}
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		for _, sku := range skus {
			v := expect(t, o.admin("GET", "/v1/stock/"+sku, nil), 200, "")
			var onHand, reserved float64
			for _, w := range v["warehouses"].(map[string]any) {
				ws := w.(map[string]any)
				if ws["available"].(float64) < 0 || ws["reserved"].(float64) > ws["on_hand"].(float64) {
					t.Fatalf("%s oversold: %v", sku, v)
				}
				onHand += ws["on_hand"].(float64)
				reserved += ws["reserved"].(float64)
			}
			if onHand != 20-sold[sku] || reserved != held[sku] {
				t.Fatalf("%s: on_hand %v reserved %v; want %v and %v", sku, onHand, reserved, 20-sold[sku], held[sku])
			}
		}
		if m := expect(t, o.admin("GET", "/v1/ledger/verify", nil), 200, ""); len(m["differences"].([]any)) != 0 {
			t.Fatalf("ledger verify: %v", m)
		}
	})
}
