package bench

import (
	"sync"

	"github.com/shortstock/shortstock/origin/store"
)

// ledger is the bench's own account of the stock it wrote: what it set,
// what adjusts were acknowledged, which reservations it holds and what
// became of them. The audit checks the origin's final state against it,
// so an origin that oversold cannot vouch for itself.
type ledger struct {
	mu      sync.Mutex
	wh      map[string]map[string]*whLedger // sku -> warehouse
	touched map[string]bool                 // SKUs a write went to
	res     []*reservation
}

// whLedger is one SKU's stock in one warehouse, as the bench knows it.
type whLedger struct {
	// Supplied is the on_hand the seed set plus every acknowledged adjust.
	Supplied int64
	// MaybeUp and MaybeDown add up the adjusts whose answer was lost: the
	// supply may be that much higher or lower.
	MaybeUp, MaybeDown int64
	// Committed and Held add up the bench's reservations by final status
	// (filled in for the audit).
	Committed, Held int64
	// Unresolved counts reservations whose fate stayed unknown (filled in
	// for the audit); with any, Held is a lower bound only.
	Unresolved int
}

// reservation is one reservation the bench asked for.
type reservation struct {
	sku, warehouse string
	id             string // empty while the create's answer is unknown
	qty            int64
	status         string // held, committed, released, expired; empty: unknown
	// idemKey and body let the audit replay a create whose answer was
	// lost: the origin returns the first answer for a repeated key.
	idemKey string
	body    []byte
}

func newLedger() *ledger {
	return &ledger{wh: map[string]map[string]*whLedger{}, touched: map[string]bool{}}
}

func (l *ledger) entry(sku, wh string) *whLedger {
	m := l.wh[sku]
	if m == nil {
		m = map[string]*whLedger{}
		l.wh[sku] = m
	}
	e := m[wh]
	if e == nil {
		e = &whLedger{}
		m[wh] = e
	}
	return e
}

// set records an acknowledged PUT of on_hand (the seed).
func (l *ledger) set(sku, wh string, onHand int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entry(sku, wh).Supplied = onHand
}

func (l *ledger) touch(sku string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.touched[sku] = true
}

// adjusted records an adjust: applied when its 200 came back, maybe
// applied when no answer did (any answer but 200 changed nothing).
func (l *ledger) adjusted(sku, wh string, delta int64, known bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entry(sku, wh)
	switch {
	case known:
		e.Supplied += delta
	case delta > 0:
		e.MaybeUp += delta
	default:
		e.MaybeDown -= delta
	}
}

// add records a reservation the bench asked for; the caller fills in the
// rest as answers arrive, under settle.
func (l *ledger) add(r *reservation) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.res = append(l.res, r)
}

// settle updates a reservation under the ledger's lock.
func (l *ledger) settle(r *reservation, update func(*reservation)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	update(r)
}

// unsettled returns the reservations whose create or final status is
// unknown, for the audit to ask the origin about.
func (l *ledger) unsettled() []*reservation {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*reservation
	for _, r := range l.res {
		if r.id == "" || r.status == "" {
			out = append(out, r)
		}
	}
	return out
}

// touchedSKUs lists the SKUs writes went to.
func (l *ledger) touchedSKUs() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.touched))
	for s := range l.touched {
		out = append(out, s)
	}
	return out
}

// expected folds the reservations into each warehouse's Committed and
// Held and returns a copy of the ledger of the touched SKUs.
func (l *ledger) expected() map[string]map[string]whLedger {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]map[string]whLedger{}
	for sku := range l.touched {
		m := map[string]whLedger{}
		for wh, e := range l.wh[sku] {
			c := *e
			c.Committed, c.Held, c.Unresolved = 0, 0, 0
			m[wh] = c
		}
		out[sku] = m
	}
	for _, r := range l.res {
		m := out[r.sku]
		if m == nil {
			continue
		}
		if r.id == "" && r.status == "" {
			// A create still unknown after the replay: its warehouse is
			// unknown too, so every warehouse of the SKU is uncertain.
			for wh, e := range m {
				e.Unresolved++
				m[wh] = e
			}
			continue
		}
		e := m[r.warehouse]
		switch r.status {
		case store.StatusCommitted:
			e.Committed += r.qty
		case store.StatusHeld:
			e.Held += r.qty
		case store.StatusReleased, store.StatusExpired, statusRefused:
			continue // holds nothing
		default:
			e.Unresolved++
		}
		m[r.warehouse] = e
	}
	return out
}

// statusRefused marks a create whose replay showed it was refused (409):
// it never held anything.
const statusRefused = "refused"
