package bench

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/shortstock/shortstock/origin/store"
)

// finalAudit settles what the writes left unknown, asking the origin (a
// create whose answer was lost is replayed with its Idempotency-Key, which
// returns the first answer; a commit or release whose answer was lost is
// looked up), then reads the stock view of every SKU the writes touched and
// audits it against the ledger.
func finalAudit(ctx context.Context, o *host, adminKey string, l *ledger, pr *progress) (AuditResult, error) {
	c := newAdminCall(adminKey)
	for _, r := range l.unsettled() {
		if err := ctx.Err(); err != nil {
			return AuditResult{}, err
		}
		settleOne(c, o, l, r)
	}
	skus := l.touchedSKUs()
	views := make(map[string]store.StockView, len(skus))
	var mu sync.Mutex
	err := parallel(ctx, len(skus), 16, adminKey, func(c *adminCall, i int, deadline time.Time) error {
		if _, err := c.expect(o, http.MethodGet, "/v1/stock/"+skus[i], nil, deadline, http.StatusOK); err != nil {
			return err
		}
		var v store.StockView
		if err := c.decode(&v); err != nil {
			return err
		}
		mu.Lock()
		views[skus[i]] = v
		mu.Unlock()
		return nil
	}, func(done int) { pr.status("stock audit: %d/%d SKUs read", done, len(skus)) })
	pr.done()
	if err != nil {
		return AuditResult{}, fmt.Errorf("%w: %w", ErrAudit, err)
	}
	return audit(l.expected(), views), nil
}

// settleOne asks the origin what became of one reservation. Whatever it
// cannot learn stays unknown, and the audit loosens its checks for it.
func settleOne(c *adminCall, o *host, l *ledger, r *reservation) {
	deadline := time.Now().Add(5 * time.Second)
	if r.id == "" {
		st, err := c.do(o, http.MethodPost, "/v1/reservations", r.body, r.idemKey, deadline)
		switch {
		case err != nil:
			return
		case st == http.StatusConflict:
			l.settle(r, func(r *reservation) { r.status = statusRefused })
			return
		case st != http.StatusCreated && st != http.StatusOK:
			return
		}
		var got store.Reservation
		if c.decode(&got) != nil || got.ID == "" {
			return
		}
		l.settle(r, func(r *reservation) { r.id, r.warehouse = got.ID, got.Warehouse })
	}
	if _, err := c.expect(o, http.MethodGet, "/v1/reservations/"+r.id, nil, deadline, http.StatusOK); err != nil {
		return
	}
	var got store.Reservation
	if c.decode(&got) == nil {
		l.settle(r, func(r *reservation) { r.warehouse, r.status = got.Warehouse, got.Status })
	}
}
