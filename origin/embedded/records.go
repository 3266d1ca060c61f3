package embedded

import (
	"time"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// recordFormat starts every record, so a later format can be told apart.
const recordFormat = 1

// linkRec is a link, or its tombstone (live false: only the version is
// kept, so a re-created link continues from it).
type linkRec struct {
	version   uint64
	live      bool
	url       string
	redirect  int
	createdAt time.Time
	expiresAt *time.Time
	clicks    int64
	x         store.LinkExtras
	visits    visitsRec
}

const (
	linkLive      = 1 << 0
	linkHasExpiry = 1 << 1
	linkHasExt    = 1 << 2
)

func (r *linkRec) encode() []byte {
	e := enc{b: make([]byte, 0, 32+len(r.url))}
	e.byte(recordFormat)
	var flags byte
	var bits uint64
	if r.live {
		flags |= linkLive
		if r.expiresAt != nil {
			flags |= linkHasExpiry
		}
		if bits = extBits(&r.x, &r.visits); bits != 0 {
			flags |= linkHasExt
		}
	}
	e.byte(flags)
	e.uvarint(r.version)
	if r.live {
		e.str(r.url)
		e.uvarint(uint64(r.redirect))
		e.time(r.createdAt)
		if r.expiresAt != nil {
			e.time(*r.expiresAt)
		}
		e.uvarint(uint64(r.clicks))
		if bits != 0 {
			e.linkExt(bits, &r.x, &r.visits)
		}
	}
	return e.b
}

func decodeLink(b []byte) (linkRec, error) {
	var r linkRec
	d := dec{b: b}
	if d.byte("link format") != recordFormat {
		d.fail("link format")
	}
	flags := d.byte("link flags")
	if flags&^(linkLive|linkHasExpiry|linkHasExt) != 0 || flags&linkLive == 0 && flags != 0 {
		d.fail("link flags")
	}
	r.live = flags&linkLive != 0
	if r.version = d.uvarint("link version"); r.version == 0 {
		d.fail("link version")
	}
	if r.live {
		r.url = d.str("link url", store.MaxURLLen)
		rd := d.uvarint("link redirect")
		if !store.ValidRedirect(int(rd)) || rd > 999 {
			d.fail("link redirect")
		}
		r.redirect = int(rd)
		r.createdAt = d.time("link created_at")
		if flags&linkHasExpiry != 0 {
			t := d.time("link expires_at")
			r.expiresAt = &t
		}
		r.clicks = d.count("link clicks")
		if flags&linkHasExt != 0 {
			d.linkExt(&r.x, &r.visits)
		}
	}
	if err := d.done("link"); err != nil {
		return linkRec{}, err
	}
	return r, nil
}

func (r *linkRec) link(code string) store.Link {
	l := store.Link{Code: code, Version: r.version}
	if !r.live {
		return l
	}
	l.URL, l.Redirect, l.CreatedAt, l.Clicks = r.url, r.redirect, r.createdAt, r.clicks
	l.LinkExtras = cloneExtras(r.x)
	if r.expiresAt != nil {
		t := *r.expiresAt
		l.ExpiresAt = &t
	}
	return l
}

// stockRec is a SKU's stock: its version and its warehouses, sorted by
// name (so the encoding is canonical and ties break by name for free).
type stockRec struct {
	version    uint64
	warehouses []whRec
}

type whRec struct {
	name     string
	onHand   int64
	reserved int64
}

func (r *stockRec) encode() []byte {
	e := enc{b: make([]byte, 0, 8+len(r.warehouses)*16)}
	e.byte(recordFormat)
	e.uvarint(r.version)
	e.uvarint(uint64(len(r.warehouses)))
	for _, w := range r.warehouses {
		e.str(w.name)
		e.uvarint(uint64(w.onHand))
		e.uvarint(uint64(w.reserved))
	}
	return e.b
}

func decodeStock(b []byte) (stockRec, error) {
	var r stockRec
	d := dec{b: b}
	if d.byte("stock format") != recordFormat {
		d.fail("stock format")
	}
	if r.version = d.uvarint("stock version"); r.version == 0 {
		d.fail("stock version")
	}
	n := d.uvarint("stock warehouse count")
	// Each warehouse takes at least 4 bytes: bound the allocation by what
	// the bytes can hold, not by what they claim.
	if n > uint64(len(d.b)/4) {
		d.fail("stock warehouse count")
	}
	if d.err == nil && n > 0 {
		r.warehouses = make([]whRec, 0, n)
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		w := whRec{name: d.str("warehouse name", keys.MaxIDLen)}
		w.onHand = d.count("warehouse on_hand")
		w.reserved = d.count("warehouse reserved")
		if d.err == nil && (!keys.ValidWarehouse(w.name) || w.reserved > w.onHand ||
			i > 0 && r.warehouses[i-1].name >= w.name) {
			d.fail("warehouse " + w.name)
		}
		r.warehouses = append(r.warehouses, w)
	}
	if err := d.done("stock"); err != nil {
		return stockRec{}, err
	}
	return r, nil
}

// find returns the index of warehouse name, or where it would go.
func (r *stockRec) find(name string) (int, bool) {
	lo, hi := 0, len(r.warehouses)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if r.warehouses[m].name < name {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(r.warehouses) && r.warehouses[lo].name == name
}

// ensure returns the warehouse name, inserting an empty one if missing.
func (r *stockRec) ensure(name string) *whRec {
	i, ok := r.find(name)
	if !ok {
		r.warehouses = append(r.warehouses, whRec{})
		copy(r.warehouses[i+1:], r.warehouses[i:])
		r.warehouses[i] = whRec{name: name}
	}
	return &r.warehouses[i]
}

func (r *stockRec) view(sku string) store.StockView {
	v := store.StockView{SKU: sku, Version: r.version, Warehouses: make(map[string]store.WarehouseStock, len(r.warehouses))}
	for _, w := range r.warehouses {
		avail := max(w.onHand-w.reserved, 0)
		v.Warehouses[w.name] = store.WarehouseStock{OnHand: w.onHand, Reserved: w.reserved, Available: avail}
		v.Available += avail
	}
	return v
}

// resRec is a reservation. Its ID is the record's key.
type resRec struct {
	status    byte
	sku       string
	warehouse string
	qty       int64
	expiresAt time.Time
	createdAt time.Time
}

// Status bytes of resRec.
const (
	stHeld      = 'h'
	stCommitted = 'c'
	stReleased  = 'r'
	stExpired   = 'x'
)

var statusNames = map[byte]string{
	stHeld:      store.StatusHeld,
	stCommitted: store.StatusCommitted,
	stReleased:  store.StatusReleased,
	stExpired:   store.StatusExpired,
}

func (r *resRec) encode() []byte {
	e := enc{b: make([]byte, 0, 48+len(r.sku)+len(r.warehouse))}
	e.byte(recordFormat)
	e.byte(r.status)
	e.str(r.sku)
	e.str(r.warehouse)
	e.uvarint(uint64(r.qty))
	e.time(r.expiresAt)
	e.time(r.createdAt)
	return e.b
}

func decodeRes(b []byte) (resRec, error) {
	var r resRec
	d := dec{b: b}
	if d.byte("reservation format") != recordFormat {
		d.fail("reservation format")
	}
	r.status = d.byte("reservation status")
	if _, ok := statusNames[r.status]; !ok {
		d.fail("reservation status")
	}
	if r.sku = d.str("reservation sku", keys.MaxIDLen); d.err == nil && !keys.ValidSKU(r.sku) {
		d.fail("reservation sku")
	}
	if r.warehouse = d.str("reservation warehouse", keys.MaxIDLen); d.err == nil && !keys.ValidWarehouse(r.warehouse) {
		d.fail("reservation warehouse")
	}
	if r.qty = d.count("reservation qty"); r.qty == 0 {
		d.fail("reservation qty")
	}
	r.expiresAt = d.time("reservation expires_at")
	r.createdAt = d.time("reservation created_at")
	if err := d.done("reservation"); err != nil {
		return resRec{}, err
	}
	return r, nil
}

func (r *resRec) reservation(id string) store.Reservation {
	return store.Reservation{
		ID: id, SKU: r.sku, Warehouse: r.warehouse, Qty: r.qty, Status: statusNames[r.status],
		ExpiresAt: r.expiresAt, CreatedAt: r.createdAt,
	}
}

// idemRec is the recorded outcome of an idempotent reservation request:
// the request's parameters (what a repeat must match) and the reservation
// it made, or no ID for "insufficient stock".
type idemRec struct {
	qty       int64
	warehouse string
	ttl       time.Duration
	id        string
	at        time.Time // when it was recorded, by Config.Clock
}

func (r *idemRec) encode() []byte {
	e := enc{b: make([]byte, 0, 48+len(r.warehouse)+len(r.id))}
	e.byte(recordFormat)
	e.uvarint(uint64(r.qty))
	e.str(r.warehouse)
	e.varint(int64(r.ttl))
	e.str(r.id)
	e.time(r.at)
	return e.b
}

func decodeIdem(b []byte) (idemRec, error) {
	var r idemRec
	d := dec{b: b}
	if d.byte("idempotency format") != recordFormat {
		d.fail("idempotency format")
	}
	if r.qty = d.count("idempotency qty"); r.qty == 0 {
		d.fail("idempotency qty")
	}
	if r.warehouse = d.str("idempotency warehouse", keys.MaxIDLen); d.err == nil && r.warehouse != "" && !keys.ValidWarehouse(r.warehouse) {
		d.fail("idempotency warehouse")
	}
	if r.ttl = time.Duration(d.varint("idempotency ttl")); r.ttl <= 0 {
		d.fail("idempotency ttl")
	}
	if r.id = d.str("idempotency id", keys.MaxReservationIDLen); d.err == nil && r.id != "" {
		if _, err := keys.ReservationPartition(r.id); err != nil {
			d.fail("idempotency id")
		}
	}
	r.at = d.time("idempotency at")
	if err := d.done("idempotency record"); err != nil {
		return idemRec{}, err
	}
	return r, nil
}

// matches reports whether a repeated request asks for the same thing.
func (r *idemRec) matches(req *store.ReserveRequest) bool {
	return r.qty == req.Qty && r.warehouse == req.Warehouse && r.ttl == req.TTL
}

// utc is t as it reads back from storage: UTC, no monotonic reading.
func utc(t time.Time) time.Time { return time.Unix(t.Unix(), int64(t.Nanosecond())).UTC() }
