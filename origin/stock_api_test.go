package origin_test

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestStockAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b)
		expect(t, o.admin("GET", "/v1/stock/SKU-1", nil), 404, "not_found")
		m := expect(t, o.admin("PUT", "/v1/stock/SKU-1/ams", map[string]any{"on_hand": 10}), 200, "")
		if m["sku"] != "SKU-1" || m["available"] != 10.0 || m["version"] != 1.0 {
			t.Fatalf("put: %v", m)
		}
		expect(t, o.admin("PUT", "/v1/stock/SKU-1/ber", map[string]any{"on_hand": 5}), 200, "")
		m = expect(t, o.admin("POST", "/v1/stock/SKU-1/ams/adjust", map[string]any{"delta": -3}), 200, "")
		wh := m["warehouses"].(map[string]any)
		ams := wh["ams"].(map[string]any)
		if m["available"] != 12.0 || ams["on_hand"] != 7.0 || ams["reserved"] != 0.0 || ams["available"] != 7.0 || m["version"] != 3.0 {
			t.Fatalf("adjust: %v", m)
		}
		expect(t, o.admin("POST", "/v1/stock/SKU-1/ams/adjust", map[string]any{"delta": -8}), 409, "insufficient_stock")
		expect(t, o.admin("POST", "/v1/stock/SKU-1/nowhere/adjust", map[string]any{"delta": -1}), 404, "not_found")

		// Reserve 5 in ams: on_hand may not drop below reserved.
		r := expect(t, o.admin("POST", "/v1/reservations", map[string]any{"sku": "SKU-1", "qty": 5, "warehouse": "ams"}), 201, "")
		expect(t, o.admin("PUT", "/v1/stock/SKU-1/ams", map[string]any{"on_hand": 4}), 409, "below_reserved")
		expect(t, o.admin("POST", "/v1/stock/SKU-1/ams/adjust", map[string]any{"delta": -3}), 409, "insufficient_stock")
		m = expect(t, o.admin("GET", "/v1/stock/SKU-1", nil), 200, "")
		ams = m["warehouses"].(map[string]any)["ams"].(map[string]any)
		if ams["on_hand"] != 7.0 || ams["reserved"] != 5.0 || ams["available"] != 2.0 || m["available"] != 7.0 {
			t.Fatalf("after reserve: %v", m)
		}
		id := r["id"].(string)
		expect(t, o.admin("POST", "/v1/reservations/"+id+"/commit", nil), 200, "")
		m = expect(t, o.admin("GET", "/v1/stock/SKU-1", nil), 200, "")
		ams = m["warehouses"].(map[string]any)["ams"].(map[string]any)
		if ams["on_hand"] != 2.0 || ams["reserved"] != 0.0 {
			t.Fatalf("commit must lower on_hand and reserved by qty: %v", m)
		}

		for _, bad := range []struct{ path, body, code string }{
			{"/v1/stock/SKU-1/ams", `{"on_hand":-1}`, "invalid_quantity"},
			{"/v1/stock/SKU-1/ams", `{"on_hand":1.5}`, "invalid_json"},
			{"/v1/stock/SKU-1/ams", `{"on_hand":99999999999999999999}`, "invalid_json"},
			{"/v1/stock/SKU-1/ams", `{"on_hand":1099511627777}`, "invalid_quantity"},
			{"/v1/stock/SKU-1/ams", `{}`, "invalid_quantity"},
			{"/v1/stock/SKU-1/ams", `{"onhand":1}`, "invalid_json"},
			{"/v1/stock/-bad/ams", `{"on_hand":1}`, "invalid_sku"},
			{"/v1/stock/SKU-1/b%20d", `{"on_hand":1}`, "invalid_warehouse"},
		} {
			expect(t, o.admin("PUT", bad.path, bad.body), 400, bad.code)
		}
		expect(t, o.admin("POST", "/v1/stock/SKU-1/ams/adjust", `{"delta":0}`), 400, "invalid_quantity")
		expect(t, o.admin("GET", "/v1/stock/bad%2Fsku", nil), 400, "invalid_sku")
		m = expect(t, o.admin("GET", "/v1/stock/SKU-1", nil), 200, "")
		if m["version"] != 5.0 { // put, put, adjust, reserve, commit
			t.Fatalf("failed writes bumped the version: %v", m)
		}
	})
}

func TestReservationsAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b)
		expect(t, o.admin("POST", "/v1/reservations", map[string]any{"sku": "NOPE", "qty": 1}), 404, "not_found")
		expect(t, o.admin("PUT", "/v1/stock/S/a", map[string]any{"on_hand": 3}), 200, "")
		expect(t, o.admin("PUT", "/v1/stock/S/b", map[string]any{"on_hand": 6}), 200, "")

		// No warehouse: one that has enough.
		r := expect(t, o.admin("POST", "/v1/reservations", map[string]any{"sku": "S", "qty": 5}), 201, "")
		if r["warehouse"] != "b" || r["status"] != "held" || r["qty"] != 5.0 || r["sku"] != "S" {
			t.Fatalf("auto warehouse: %v", r)
		}
		exp, err := time.Parse(time.RFC3339, r["expires_at"].(string))
		if err != nil || !exp.Equal(o.clock.Now().Add(10*time.Minute)) {
			t.Fatalf("default expiry %v (%v)", r["expires_at"], err)
		}
		// 3 left in a and 1 in b: 4 in total, but no one warehouse has 5.
		expect(t, o.admin("POST", "/v1/reservations", map[string]any{"sku": "S", "qty": 5}), 409, "insufficient_stock")
		id := r["id"].(string)
		got := expect(t, o.admin("GET", "/v1/reservations/"+id, nil), 200, "")
		if got["id"] != id || got["status"] != "held" {
			t.Fatalf("get: %v", got)
		}
		rel := expect(t, o.admin("POST", "/v1/reservations/"+id+"/release", nil), 200, "")
		if rel["status"] != "released" {
			t.Fatalf("release: %v", rel)
		}
		expect(t, o.admin("POST", "/v1/reservations/"+id+"/commit", nil), 409, "reservation_not_held")
		expect(t, o.admin("GET", "/v1/reservations/r01_AAAAAAAAAAAAAAAAAAAA", nil), 404, "not_found")
		expect(t, o.admin("GET", "/v1/reservations/garbage", nil), 404, "not_found")

		// Idempotency: a retry returns the first answer and changes nothing.
		body := map[string]any{"sku": "S", "qty": 2, "warehouse": "a", "ttl_seconds": 30}
		first := expect(t, o.admin("POST", "/v1/reservations", body, "Idempotency-Key", "order-1"), 201, "")
		v1 := expect(t, o.admin("GET", "/v1/stock/S", nil), 200, "")["version"]
		again := o.admin("POST", "/v1/reservations", body, "Idempotency-Key", "order-1")
		m := expect(t, again, 201, "")
		if m["id"] != first["id"] || again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry got %v (replayed header %q), first was %v", m, again.header.Get("Idempotent-Replayed"), first)
		}
		st := expect(t, o.admin("GET", "/v1/stock/S", nil), 200, "")
		if st["version"] != v1 || st["warehouses"].(map[string]any)["a"].(map[string]any)["reserved"] != 2.0 {
			t.Fatalf("a replay changed stock: %v", st)
		}
		expect(t, o.admin("POST", "/v1/reservations", map[string]any{"sku": "S", "qty": 1, "warehouse": "a"}, "Idempotency-Key", "order-1"), 409, "idempotency_key_reused")
		expect(t, o.admin("POST", "/v1/reservations", body, "Idempotency-Key", "bad key with spaces"), 400, "invalid_idempotency_key")

		for _, b := range []string{`{"sku":"S","qty":0}`, `{"sku":"S","qty":-1}`, `{"sku":"S"}`, `{"qty":1}`, `{"sku":"S","qty":1,"ttl_seconds":0}`, `{"sku":"S","qty":1,"ttl_seconds":86401}`, `{"sku":"S","qty":1,"warehouse":"a b"}`, `{"sku":"S","qty":"1"}`} {
			r := o.admin("POST", "/v1/reservations", b)
			if r.status != 400 {
				t.Fatalf("%s: status %d %s", b, r.status, r.body)
			}
		}
	})
}

func TestHeldReservationsExpireOnTheirOwn(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b)
		expect(t, o.admin("PUT", "/v1/stock/E/w", map[string]any{"on_hand": 5}), 200, "")
		r := expect(t, o.admin("POST", "/v1/reservations", map[string]any{"sku": "E", "qty": 5, "ttl_seconds": 60}), 201, "")
		o.clock.Advance(61 * time.Second)
		// The hold reads expired at once; the sweep returns its stock.
		if got := expect(t, o.admin("GET", "/v1/reservations/"+r["id"].(string), nil), 200, ""); got["status"] != "expired" {
			t.Fatalf("hold past its expiry reads %v", got)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			st := expect(t, o.admin("GET", "/v1/stock/E", nil), 200, "")
			if st["available"] == 5.0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("expired hold did not return stock: %v", st)
			}
			time.Sleep(10 * time.Millisecond)
		}
		expect(t, o.admin("POST", "/v1/reservations/"+r["id"].(string)+"/commit", nil), 409, "reservation_not_held")
	})
}

// The exact scenario: 150 concurrent reservations of 1 against 100.
func TestConcurrentReservationsNeverOversell(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b)
		expect(t, o.admin("PUT", "/v1/stock/HOT/w1", map[string]any{"on_hand": 100}), 200, "")
		var wg sync.WaitGroup
		codes := make(chan int, 150)
		for i := 0; i < 150; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes <- o.admin("POST", "/v1/reservations", map[string]any{"sku": "HOT", "qty": 1}).status
			}()
		}
		wg.Wait()
		close(codes)
		n := map[int]int{}
		for c := range codes {
			n[c]++
		}
		if n[201] != 100 || n[409] != 50 || len(n) != 2 {
			t.Fatalf("statuses %v, want exactly 100 x 201 and 50 x 409", n)
		}
		st := expect(t, o.admin("GET", "/v1/stock/HOT", nil), 200, "")
		wh := st["warehouses"].(map[string]any)["w1"].(map[string]any)
		if st["available"] != 0.0 || wh["reserved"] != 100.0 || wh["on_hand"] != 100.0 {
			t.Fatalf("after the rush: %v", st)
		}
	})
}

func TestStorageDownIs503(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b)
		expect(t, o.admin("PUT", "/v1/stock/X/w", map[string]any{"on_hand": 1}), 200, "")
		o.store.Close()
		expect(t, o.admin("GET", "/v1/stock/X", nil), 503, "storage_unavailable")
		expect(t, o.admin("POST", "/v1/links", map[string]any{"url": "https://e.example"}), 503, "storage_unavailable")
		r := o.do("GET", "/_/readyz", "", nil)
		if r.status != http.StatusServiceUnavailable {
			t.Fatalf("readyz with storage closed: %d", r.status)
		}
	})
}
