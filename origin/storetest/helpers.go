package storetest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// t0 is the suite's "now": whole seconds, so a backend that keeps times to
// the second (the contract's minimum) still compares equal, and far from
// the real clock, so nothing depends on when the suite runs.
var t0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// elsewhere is a non-UTC zone: stores must hand times back in UTC.
var elsewhere = time.FixedZone("UTC+5:30", 5*3600+30*60)

func linkKey(code string) string { return keys.Key(keys.KindLink, code) }
func stockKey(sku string) string { return keys.Key(keys.KindStock, sku) }

// newID returns a reservation ID for sku, as the origin makes them.
func newID(s store.Store, sku string) string {
	return keys.NewReservationID(s.Partitions().Partition(keys.KindStock, sku))
}

// sameTime compares to the second (the contract's minimum precision) and
// requires UTC.
func sameTime(got, want time.Time) bool {
	return got.Location() == time.UTC && got.Unix() == want.Unix()
}

func fmtTime(p *time.Time) string {
	if p == nil {
		return "nil"
	}
	return p.Format(time.RFC3339Nano) + " (" + p.Location().String() + ")"
}

func newLink(code, url string) store.NewLink {
	return store.NewLink{Code: code, URL: url, Redirect: 302, CreatedAt: t0}
}

func mustCreate(t *testing.T, s store.Store, l store.NewLink) store.Link {
	t.Helper()
	got, err := s.CreateLink(t.Context(), l)
	if err != nil {
		t.Fatalf("CreateLink(%q): %v", l.Code, err)
	}
	return got
}

func mustGetLink(t *testing.T, s store.Store, code string) store.Link {
	t.Helper()
	got, err := s.GetLink(t.Context(), code)
	if err != nil {
		t.Fatalf("GetLink(%q): %v", code, err)
	}
	return got
}

// checkLink compares every stored field of a link.
func checkLink(t *testing.T, what string, got, want store.Link) {
	t.Helper()
	ok := got.Code == want.Code && got.URL == want.URL && got.Redirect == want.Redirect &&
		got.Version == want.Version && got.Clicks == want.Clicks && sameTime(got.CreatedAt, want.CreatedAt) &&
		(got.ExpiresAt == nil) == (want.ExpiresAt == nil) &&
		(got.ExpiresAt == nil || sameTime(*got.ExpiresAt, *want.ExpiresAt))
	if !ok {
		t.Fatalf("%s:\n got  code=%q url=%q redirect=%d version=%d clicks=%d created=%s expires=%s\n want code=%q url=%q redirect=%d version=%d clicks=%d created=%s expires=%s",
			what, got.Code, got.URL, got.Redirect, got.Version, got.Clicks, fmtTime(&got.CreatedAt), fmtTime(got.ExpiresAt),
			want.Code, want.URL, want.Redirect, want.Version, want.Clicks, fmtTime(&want.CreatedAt), fmtTime(want.ExpiresAt))
	}
}

func mustSetStock(t *testing.T, s store.Store, sku, wh string, onHand int64) store.StockView {
	t.Helper()
	v, err := s.SetStock(t.Context(), sku, wh, onHand)
	if err != nil {
		t.Fatalf("SetStock(%s, %s, %d): %v", sku, wh, onHand, err)
	}
	checkViewMath(t, v)
	return v
}

func mustGetStock(t *testing.T, s store.Store, sku string) store.StockView {
	t.Helper()
	v, err := s.GetStock(t.Context(), sku)
	if err != nil {
		t.Fatalf("GetStock(%s): %v", sku, err)
	}
	checkViewMath(t, v)
	return v
}

// wh is the expected stock of one warehouse: on hand and reserved.
type wh struct{ onHand, reserved int64 }

// checkView compares a view with the expected version and warehouses, and
// checks the view's arithmetic.
func checkView(t *testing.T, what string, got store.StockView, sku string, version uint64, want map[string]wh) {
	t.Helper()
	checkViewMath(t, got)
	if got.SKU != sku || got.Version != version || len(got.Warehouses) != len(want) {
		t.Fatalf("%s: got sku=%q version=%d warehouses=%v; want sku=%q version=%d warehouses=%v",
			what, got.SKU, got.Version, got.Warehouses, sku, version, want)
	}
	for name, w := range want {
		g, ok := got.Warehouses[name]
		if !ok || g.OnHand != w.onHand || g.Reserved != w.reserved {
			t.Fatalf("%s: warehouse %s = %+v (present %v); want on_hand=%d reserved=%d (all: %v)",
				what, name, g, ok, w.onHand, w.reserved, got.Warehouses)
		}
	}
}

// checkViewMath checks what holds for every view: per warehouse
// 0 <= reserved <= on_hand and available = on_hand - reserved; the total
// is the sum.
func checkViewMath(t *testing.T, v store.StockView) {
	t.Helper()
	if err := viewMathErr(v); err != nil {
		t.Fatal(err)
	}
}

func viewMathErr(v store.StockView) error {
	var sum int64
	for _, name := range slices.Sorted(maps.Keys(v.Warehouses)) {
		w := v.Warehouses[name]
		if w.Reserved < 0 || w.OnHand < 0 || w.Reserved > w.OnHand {
			return fmt.Errorf("stock %s/%s oversold or negative: on_hand=%d reserved=%d", v.SKU, name, w.OnHand, w.Reserved)
		}
		if w.Available != w.OnHand-w.Reserved {
			return fmt.Errorf("stock %s/%s: available=%d, want on_hand-reserved=%d", v.SKU, name, w.Available, w.OnHand-w.Reserved)
		}
		sum += w.Available
	}
	if v.Available != sum {
		return fmt.Errorf("stock %s: available=%d, want the warehouses' sum %d", v.SKU, v.Available, sum)
	}
	return nil
}

func reserveReq(s store.Store, sku, wh string, qty int64, ttl time.Duration) store.ReserveRequest {
	return store.ReserveRequest{ID: newID(s, sku), SKU: sku, Warehouse: wh, Qty: qty, Now: t0, TTL: ttl}
}

func mustReserve(t *testing.T, s store.Store, r store.ReserveRequest) store.Reservation {
	t.Helper()
	res, err := s.Reserve(t.Context(), r)
	if err != nil {
		t.Fatalf("Reserve(%s/%q qty %d): %v", r.SKU, r.Warehouse, r.Qty, err)
	}
	if res.Replayed {
		t.Fatalf("Reserve(%s/%q qty %d) without a repeated idempotency key came back Replayed", r.SKU, r.Warehouse, r.Qty)
	}
	return res
}

// checkRes compares a reservation with what the request asked for.
func checkRes(t *testing.T, what string, got store.Reservation, id, sku, wh string, qty int64, status string, expires time.Time) {
	t.Helper()
	if got.ID != id || got.SKU != sku || got.Warehouse != wh || got.Qty != qty || got.Status != status || !sameTime(got.ExpiresAt, expires) {
		t.Fatalf("%s: got %+v (expires %s); want id=%s sku=%s warehouse=%s qty=%d status=%s expires=%s",
			what, got, fmtTime(&got.ExpiresAt), id, sku, wh, qty, status, fmtTime(&expires))
	}
}

func mustGetRes(t *testing.T, s store.Store, id string) store.Reservation {
	t.Helper()
	r, err := s.GetReservation(t.Context(), id)
	if err != nil {
		t.Fatalf("GetReservation(%s): %v", id, err)
	}
	return r
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

func mustHeads(t *testing.T, s store.Store) []uint64 {
	t.Helper()
	h, err := s.Heads(t.Context())
	if err != nil {
		t.Fatalf("Heads: %v", err)
	}
	if len(h) != s.Partitions().N() {
		t.Fatalf("Heads returned %d partitions, want %d", len(h), s.Partitions().N())
	}
	return h
}

func sum(xs []uint64) uint64 {
	var n uint64
	for _, x := range xs {
		n += x
	}
	return n
}

// allChanges reads a partition's whole log, paging with a small limit so
// paging is exercised too, and checks what every page must satisfy.
func allChanges(t *testing.T, s store.Store, p int) []change.Change {
	t.Helper()
	var out []change.Change
	var after uint64
	for i := 0; ; i++ {
		if i > 1_000_000 {
			t.Fatalf("partition %d: Changes never ends", p)
		}
		page, err := s.Changes(t.Context(), p, after, 7)
		if err != nil {
			t.Fatalf("Changes(%d, %d, 7): %v", p, after, err)
		}
		if page.Partition != p {
			t.Fatalf("Changes(%d) returned a page of partition %d", p, page.Partition)
		}
		if len(page.Changes) > 7 {
			t.Fatalf("Changes(%d, %d, 7) returned %d changes", p, after, len(page.Changes))
		}
		if len(page.Changes) == 0 {
			return out
		}
		for _, c := range page.Changes {
			if c.Seq <= after {
				t.Fatalf("partition %d: seq %d after %d is out of order", p, c.Seq, after)
			}
			if c.Seq > page.Head {
				t.Fatalf("partition %d: change seq %d beyond page head %d", p, c.Seq, page.Head)
			}
			after = c.Seq
			out = append(out, c)
		}
	}
}

// logWatch follows the change log between writes: after every write a test
// says which key it expects to have reached which version, and the watch
// checks that exactly that one change was appended, and nothing else.
type logWatch struct {
	t     *testing.T
	s     store.Store
	heads []uint64
}

func watchLog(t *testing.T, s store.Store) *logWatch {
	t.Helper()
	return &logWatch{t: t, s: s, heads: mustHeads(t, s)}
}

// wrote checks that exactly one change was appended since the last check:
// key at version, in key's partition, with the next seq.
func (w *logWatch) wrote(key string, version uint64) {
	w.t.Helper()
	p := w.s.Partitions().PartitionOfKey(key)
	h := mustHeads(w.t, w.s)
	for q := range h {
		want := w.heads[q]
		if q == p {
			want++
		}
		if h[q] != want {
			w.t.Fatalf("after a write of %s: head of partition %d is %d, want %d (exactly one change per write, in the key's partition %d)",
				key, q, h[q], want, p)
		}
	}
	page, err := w.s.Changes(w.t.Context(), p, w.heads[p], 10)
	if err != nil {
		w.t.Fatalf("Changes(%d, %d): %v", p, w.heads[p], err)
	}
	if len(page.Changes) != 1 || page.Head != h[p] {
		w.t.Fatalf("Changes(%d, %d) = %+v; want exactly the change of %s, head %d", p, w.heads[p], page, key, h[p])
	}
	c := page.Changes[0]
	if c.Partition != p || c.Seq != h[p] || c.Key != key || c.Version != version || c.AtUnixMs <= 0 {
		w.t.Fatalf("change = %+v; want partition=%d seq=%d key=%s version=%d and at_ms set", c, p, h[p], key, version)
	}
	w.heads = h
}

// unchanged checks that nothing was appended since the last check.
func (w *logWatch) unchanged(what string) {
	w.t.Helper()
	h := mustHeads(w.t, w.s)
	if !slices.Equal(h, w.heads) {
		for p := range h {
			if h[p] != w.heads[p] {
				w.t.Fatalf("%s appended to the change log: partition %d head %d -> %d", what, p, w.heads[p], h[p])
			}
		}
	}
}
