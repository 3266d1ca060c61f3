package origin_test

import (
	"context"
	"testing"
)

// TestAdjustUnknownSKU: a negative adjust of a SKU (or warehouse) that has
// no stock record is one documented answer on every backend, 404
// not_found, and writes nothing; a positive adjust creates the record
// (README "The admin API").
func TestAdjustUnknownSKU(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		o := newTestOrigin(t, b)
		expect(t, o.admin("POST", "/v1/stock/NEW-SKU/ams/adjust", map[string]any{"delta": -1}), 404, "not_found")
		if heads, _ := o.store.Heads(context.Background()); sum(heads) != 0 {
			t.Fatal("a refused adjust wrote a change")
		}
		expect(t, o.admin("GET", "/v1/stock/NEW-SKU", nil), 404, "not_found")
		m := expect(t, o.admin("POST", "/v1/stock/NEW-SKU/ams/adjust", map[string]any{"delta": 4}), 200, "")
		if m["available"] != 4.0 {
			t.Fatalf("positive adjust of an unknown SKU: %v", m)
		}
		expect(t, o.admin("POST", "/v1/stock/NEW-SKU/ams/adjust", map[string]any{"delta": -5}), 409, "insufficient_stock")
	})
}
