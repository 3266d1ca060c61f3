package embedded

import (
	"errors"
	"reflect"
	"testing"
)

// The decoders read what is on disk. Whatever the bytes, they must not
// panic, must fail with errCorrupt, and what they accept must encode and
// decode back to the same record (so a rewrite never changes a record).

func FuzzDecodeLink(f *testing.F) {
	for _, r := range sampleLinks {
		f.Add(r.encode())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeLink(b)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("error %v is not errCorrupt", err)
			}
			return
		}
		again, err := decodeLink(r.encode())
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("round trip: %+v -> %+v, %v", r, again, err)
		}
	})
}

func FuzzDecodeStock(f *testing.F) {
	for _, r := range sampleStocks {
		f.Add(r.encode())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeStock(b)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("error %v is not errCorrupt", err)
			}
			return
		}
		again, err := decodeStock(r.encode())
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("round trip: %+v -> %+v, %v", r, again, err)
		}
		v := r.view("sku")
		if v.Available < 0 || v.Version == 0 {
			t.Fatalf("decoded stock gives view %+v", v)
		}
	})
}

func FuzzDecodeReservation(f *testing.F) {
	for _, r := range sampleRes {
		f.Add(r.encode())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRes(b)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("error %v is not errCorrupt", err)
			}
			return
		}
		again, err := decodeRes(r.encode())
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("round trip: %+v -> %+v, %v", r, again, err)
		}
		if res := r.reservation("id"); res.Status == "" || res.Qty <= 0 {
			t.Fatalf("decoded reservation %+v", res)
		}
	})
}

func FuzzDecodeIdempotency(f *testing.F) {
	for _, r := range sampleIdem {
		f.Add(r.encode())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeIdem(b)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("error %v is not errCorrupt", err)
			}
			return
		}
		again, err := decodeIdem(r.encode())
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("round trip: %+v -> %+v, %v", r, again, err)
		}
	})
}

func FuzzParseTimeKey(f *testing.F) {
	f.Add(holdKey(sampleTime, "r01_abc"))
	f.Add(holdKey(sampleExp, ""))
	f.Fuzz(func(t *testing.T, b []byte) {
		tm, rest, err := parseTimeKey(b)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("error %v is not errCorrupt", err)
			}
			return
		}
		if k := holdKey(tm, string(rest)); string(k) != string(b) {
			t.Fatalf("parseTimeKey(%x) = %v, %q re-encodes as %x", b, tm, rest, k)
		}
	})
}

func FuzzDecodeMovement(f *testing.F) {
	f.Add((&moveRec{sku: "S-1", warehouse: "w1", kind: "adjust", dOnHand: -3, onHand: 7, version: 4, reason: "sold", ref: "o-1", actor: "key-0a0b0c0d", ik: "k", at: sampleTime}).encode())
	f.Add((&moveRec{sku: "S", warehouse: "w", kind: "hold", dReserved: 2, onHand: 2, reserved: 2, version: 1, at: sampleTime}).encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		sku, skuErr := moveSKU(b) // the indexer's shortcut
		if skuErr != nil && !errors.Is(skuErr, errCorrupt) {
			t.Fatalf("moveSKU error %v is not errCorrupt", skuErr)
		}
		r, err := decodeMove(b)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("error %v is not errCorrupt", err)
			}
			return
		}
		if skuErr != nil || string(sku) != r.sku {
			t.Fatalf("moveSKU = %q, %v; the record's sku is %q", sku, skuErr, r.sku)
		}
		again, err := decodeMove(r.encode())
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("round trip: %+v -> %+v, %v", r, again, err)
		}
	})
}

func FuzzDecodeStockIdempotency(f *testing.F) {
	f.Add((&stockIdemRec{fp: "adjust|S|w|x|1|||0", stock: (&stockRec{version: 2, warehouses: []whRec{{name: "w", onHand: 3}}}).encode(), at: sampleTime}).encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeStockIdem(b)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("error %v is not errCorrupt", err)
			}
			return
		}
		again, err := decodeStockIdem(r.encode())
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("round trip: %+v -> %+v, %v", r, again, err)
		}
	})
}
