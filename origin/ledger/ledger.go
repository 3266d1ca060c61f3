// Package ledger checks and rebuilds stock views (the projection) from the
// stock ledger (the source of truth): verify replays every SKU's movements
// and reports each SKU whose stored view differs; rebuild writes the
// replayed view back, one SKU at a time (each a compare-and-set against
// the SKU's last movement, so it runs online without blocking other SKUs
// or losing a write that lands meanwhile). Used by `shortstock ledger` and
// the origin's admin endpoint.
package ledger

import (
	"context"
	"errors"
	"fmt"

	"github.com/shortstock/shortstock/origin/store"
)

// Diff is one SKU whose stored view is not what its ledger replays to.
type Diff struct {
	SKU string `json:"sku"`
	// Stored is the view as stored; Ledger the view the ledger replays to
	// (nil when the ledger itself does not replay, see Error).
	Stored store.StockView  `json:"stored"`
	Ledger *store.StockView `json:"ledger"`
	Error  string           `json:"error,omitempty"`
}

// Replay reads a SKU's whole ledger and replays it. It returns the view,
// the seq of the last movement (0: no movements), and an error if the
// ledger does not replay (a movement whose recorded state disagrees).
func Replay(ctx context.Context, s MovementReader, sku string) (store.StockView, uint64, error) {
	var moves []store.Movement
	var after uint64
	for {
		page, err := s.Movements(ctx, store.MovementQuery{SKU: sku, After: after, Limit: store.MaxMovementsLimit})
		if err != nil {
			return store.StockView{}, 0, err
		}
		moves = append(moves, page.Movements...)
		if page.Next == 0 {
			break
		}
		after = page.Next
	}
	v, err := store.Replay(sku, moves)
	if err != nil {
		return v, 0, fmt.Errorf("%w: %w", ErrLedger, err)
	}
	var last uint64
	if len(moves) > 0 {
		last = moves[len(moves)-1].Seq
	}
	return v, last, nil
}

// ErrLedger marks a ledger that does not replay: rebuild cannot fix it.
var ErrLedger = errors.New("ledger does not replay")

// CheckSKU compares one SKU's stored view with its ledger; nil when equal.
// The view is read first and the ledger after it: a write landing between
// the two makes the ledger newer, so the check is repeated (a few times)
// rather than reported as a difference.
func CheckSKU(ctx context.Context, s Reader, sku string) (*Diff, error) {
	get := s.GetStock
	if pr, ok := s.(store.PrimaryReader); ok {
		get = pr.GetStockPrimary
	}
	for try := 0; ; try++ {
		stored, err := get(ctx, sku)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		led, _, err := Replay(ctx, s, sku)
		switch {
		case errors.Is(err, ErrLedger):
			return &Diff{SKU: sku, Stored: stored, Error: err.Error()}, nil
		case err != nil:
			return nil, err
		}
		if store.SameView(stored, led) {
			return nil, nil
		}
		if led.Version > stored.Version && try < 5 {
			continue // a write landed between the two reads
		}
		return &Diff{SKU: sku, Stored: stored, Ledger: &led}, nil
	}
}

// Verify checks every SKU of every partition, calling diff for each SKU
// that differs, and returns how many SKUs it checked.
func Verify(ctx context.Context, s Reader, diff func(Diff)) (int, error) {
	n := 0
	for p := range s.Partitions().N() {
		skus, err := s.StockSKUs(ctx, p)
		if err != nil {
			return n, err
		}
		for _, sku := range skus {
			d, err := CheckSKU(ctx, s, sku)
			if err != nil {
				return n, fmt.Errorf("verify %s: %w", sku, err)
			}
			n++
			if d != nil {
				diff(*d)
			}
		}
	}
	return n, nil
}

// maxRebuildTries bounds the compare-and-set retries of one SKU whose
// ledger keeps moving while it is rebuilt.
const maxRebuildTries = 20

// RebuildSKU replays a SKU's ledger and writes the result as its view if
// it differs. It reports whether it wrote.
func RebuildSKU(ctx context.Context, s Rebuilder, sku string) (bool, error) {
	for range maxRebuildTries {
		d, err := CheckSKU(ctx, s, sku)
		if err != nil || d == nil {
			return false, err
		}
		if d.Ledger == nil {
			return false, fmt.Errorf("rebuild %s: %s", sku, d.Error)
		}
		led, last, err := Replay(ctx, s, sku)
		if err != nil {
			return false, err
		}
		if last == 0 {
			return false, fmt.Errorf("rebuild %s: %w: the SKU has a view but no movements", sku, ErrLedger)
		}
		err = s.RebuildStock(ctx, led, last)
		if errors.Is(err, store.ErrVersionMismatch) {
			continue // a write landed meanwhile: replay again
		}
		return err == nil, err
	}
	return false, fmt.Errorf("rebuild %s: its ledger kept moving for %d tries", sku, maxRebuildTries)
}

// Rebuild rebuilds every SKU whose view differs from its ledger, calling
// done for each one it wrote; it returns how many SKUs it checked.
func Rebuild(ctx context.Context, s Rebuilder, done func(sku string)) (int, error) {
	n := 0
	for p := range s.Partitions().N() {
		skus, err := s.StockSKUs(ctx, p)
		if err != nil {
			return n, err
		}
		for _, sku := range skus {
			wrote, err := RebuildSKU(ctx, s, sku)
			if err != nil {
				return n, err
			}
			n++
			if wrote {
				done(sku)
			}
		}
	}
	return n, nil
}
