package embedded

import (
	"errors"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// Sample records: the round-trip tests and the fuzz seeds start from them.
var (
	sampleTime = time.Date(2030, 1, 1, 12, 0, 0, 123456789, time.UTC)
	sampleMax  = int64(10)
	sampleExp  = time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC) // before the epoch: negative seconds

	sampleLinks = []linkRec{
		{version: 1, live: true, url: "https://example.com/a?b=c", redirect: 302, createdAt: sampleTime},
		{version: 7, live: true, url: "http://x.io/", redirect: 308, createdAt: sampleTime, expiresAt: &sampleExp, clicks: 1 << 40},
		{version: 3}, // tombstone
		// Every extra, and visit-limit bookkeeping with two open leases.
		{version: 4, live: true, url: "https://example.com/x", redirect: 302, createdAt: sampleTime,
			x: store.LinkExtras{Tags: []string{"a", "b-c"}, Title: "T ü", MaxVisits: &sampleMax, ValidSince: &sampleTime,
				ForwardQuery: true, Targets: &store.Targets{IOS: "https://i.example/", Android: "https://a.example/"}},
			visits: visitsRec{used: 3, leases: []leaseRec{{id: "l1", n: 2, expires: sampleTime}, {id: "l2", n: 5, expires: sampleExp}}}},
		{version: 5, live: true, url: "https://example.com/y", redirect: 301, createdAt: sampleTime,
			x: store.LinkExtras{Targets: &store.Targets{Android: "https://a.example/"}}},
	}
	sampleStocks = []stockRec{
		{version: 1, warehouses: []whRec{{name: "w1", onHand: 10}}},
		{version: 99, warehouses: []whRec{{name: "a", onHand: 5, reserved: 5}, {name: "b.c:d-e_f", onHand: 1 << 50, reserved: 3}}},
		{version: 2},
	}
	sampleRes = []resRec{
		{status: stHeld, sku: "SKU-1", warehouse: "w1", qty: 3, expiresAt: sampleTime.Add(time.Minute), createdAt: sampleTime},
		{status: stExpired, sku: "a", warehouse: "b", qty: 1 << 40, expiresAt: sampleExp, createdAt: time.Time{}},
	}
	sampleIdem = []idemRec{
		{qty: 2, warehouse: "", ttl: time.Minute, id: keys.NewReservationID(5), at: sampleTime},
		{qty: 9, warehouse: "w2", ttl: 24 * time.Hour, at: sampleTime}, // recorded insufficient stock
	}
)

func TestRecordsRoundTrip(t *testing.T) {
	for _, r := range sampleLinks {
		got, err := decodeLink(r.encode())
		if err != nil || !reflect.DeepEqual(got, r) {
			t.Fatalf("link %+v -> %+v, %v", r, got, err)
		}
	}
	for _, r := range sampleStocks {
		got, err := decodeStock(r.encode())
		if err != nil || !reflect.DeepEqual(got, r) {
			t.Fatalf("stock %+v -> %+v, %v", r, got, err)
		}
	}
	for _, r := range sampleRes {
		got, err := decodeRes(r.encode())
		if err != nil || !got.expiresAt.Equal(r.expiresAt) || !got.createdAt.Equal(r.createdAt) ||
			got.status != r.status || got.sku != r.sku || got.warehouse != r.warehouse || got.qty != r.qty {
			t.Fatalf("reservation %+v -> %+v, %v", r, got, err)
		}
	}
	for _, r := range sampleIdem {
		got, err := decodeIdem(r.encode())
		if err != nil || !reflect.DeepEqual(got, r) {
			t.Fatalf("idempotency %+v -> %+v, %v", r, got, err)
		}
	}
}

func TestDecodersRejectDamage(t *testing.T) {
	good := sampleLinks[1].encode()
	for name, b := range map[string][]byte{
		"empty":     nil,
		"format":    append([]byte{9}, good[1:]...),
		"truncated": good[:len(good)-1],
		"trailing":  append(append([]byte(nil), good...), 0),
		"flags":     append([]byte{recordFormat, 0x80}, good[2:]...),
	} {
		if _, err := decodeLink(b); !errors.Is(err, errCorrupt) {
			t.Errorf("%s: err = %v, want errCorrupt", name, err)
		}
	}
	bad := []stockRec{
		{version: 0},
		{version: 1, warehouses: []whRec{{name: "w1", onHand: 1, reserved: 2}}},           // oversold
		{version: 1, warehouses: []whRec{{name: "b", onHand: 1}, {name: "a", onHand: 1}}}, // unsorted
		{version: 1, warehouses: []whRec{{name: "a", onHand: 1}, {name: "a", onHand: 1}}}, // duplicate
		{version: 1, warehouses: []whRec{{name: "-bad", onHand: 1}}},
	}
	for _, r := range bad {
		if _, err := decodeStock(r.encode()); !errors.Is(err, errCorrupt) {
			t.Errorf("stock %+v decoded: %v", r, err)
		}
	}
	// A count that claims more warehouses than the bytes can hold must not
	// allocate for them.
	huge := []byte{recordFormat, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := decodeStock(huge); !errors.Is(err, errCorrupt) {
		t.Errorf("huge count: err = %v", err)
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
		t.Errorf("decoding a huge count allocated %d bytes", n)
	}
}

func TestTimeKeyOrder(t *testing.T) {
	times := []time.Time{
		time.Unix(-1<<40, 0), sampleExp, time.Unix(0, 0), time.Unix(0, 1), sampleTime, sampleTime.Add(1), time.Unix(1<<40, 999999999),
	}
	var prev []byte
	for _, tm := range times {
		k := holdKey(tm, "r00_x")
		got, rest, err := parseTimeKey(k)
		if err != nil || !got.Equal(tm) || string(rest) != "r00_x" {
			t.Fatalf("parseTimeKey(holdKey(%v)) = %v, %q, %v", tm, got, rest, err)
		}
		if prev != nil && string(prev[:timeKeyLen]) >= string(k[:timeKeyLen]) {
			t.Fatalf("time keys out of order at %v", tm)
		}
		prev = k
	}
}
