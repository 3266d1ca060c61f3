package store

import (
	"fmt"

	"github.com/shortstock/shortstock/internal/keys"
	"slices"
	"time"
)

// Movement kinds: what changed a warehouse's stock.
const (
	KindSet         = "set"
	KindAdjust      = "adjust"
	KindTransferOut = "transfer_out"
	KindTransferIn  = "transfer_in"
	KindHold        = "hold"
	KindCommit      = "commit"
	KindRelease     = "release"
	KindExpire      = "expire"
	// KindOpening is a warehouse's balance where the retained ledger
	// starts (ledger retention, TrimLedger): the last trimmed movement of
	// the warehouse, kept with its seq, version and time, its deltas the
	// whole balance (from zero). Replay starts the warehouse from it.
	KindOpening = "opening"
)

// Reasons accepted on set, adjust and transfer (API.md "Stock ledger").
var Reasons = []string{"received", "sold", "returned", "damaged", "lost", "cycle_count", "correction", "transfer"}

// ValidReason reports whether r is empty or one of Reasons.
func ValidReason(r string) bool { return r == "" || slices.Contains(Reasons, r) }

// MaxRefLen bounds a movement's ref and actor.
const MaxRefLen = 128

// Movement is one immutable ledger entry: one warehouse of one SKU changed
// by DeltaOnHand and DeltaReserved, leaving OnHand and Reserved, in the
// write that brought the SKU to Version. A write appends its movements in
// the same atomic step as the state change, so the ledger and the stock view
// never disagree. Seq orders a SKU's movements (it is the SKU partition's
// ledger sequence; a transfer's two movements share the version).
type Movement struct {
	ID             string    `json:"id"`
	Cursor         string    `json:"cursor"`
	SKU            string    `json:"sku"`
	Warehouse      string    `json:"warehouse"`
	Kind           string    `json:"kind"`
	DeltaOnHand    int64     `json:"delta_on_hand"`
	DeltaReserved  int64     `json:"delta_reserved"`
	OnHand         int64     `json:"on_hand"`
	Reserved       int64     `json:"reserved"`
	Reason         string    `json:"reason"`
	Ref            string    `json:"ref"`
	Actor          string    `json:"actor"`
	IdempotencyKey string    `json:"idempotency_key"`
	Version        uint64    `json:"version"`
	At             time.Time `json:"at"`
	Partition      int       `json:"-"`
	Seq            uint64    `json:"-"`
}

// MovementID names a movement: its partition and ledger sequence.
func MovementID(partition int, seq uint64) string { return fmt.Sprintf("m%02d-%d", partition, seq) }

// MovementQuery selects a SKU's movements with Seq > After, in order.
type MovementQuery struct {
	SKU       string
	Warehouse string // empty: all warehouses
	After     uint64
	Limit     int // <= 0 or > MaxMovementsLimit: MaxMovementsLimit
}

// MaxMovementsLimit caps one page of movements.
const MaxMovementsLimit = 1000

// MovementPage is one page of a SKU's movements. Next is the Seq to pass
// as After for the following page, 0 when this page reached the end.
type MovementPage struct {
	Movements []Movement
	Next      uint64
}

// Stock write operations.
const (
	OpSet      = "set"
	OpAdjust   = "adjust"
	OpTransfer = "transfer"
)

// StockWrite is one set, adjust or transfer with what the ledger records
// about it. Set: Qty is the new on_hand of Warehouse. Adjust: Qty is the
// delta. Transfer: Qty (> 0) moves from Warehouse to To.
type StockWrite struct {
	Op        string
	SKU       string
	Warehouse string
	To        string
	Qty       int64
	// Reason is one of Reasons or empty; Ref is free text (<= MaxRefLen).
	Reason, Ref string
	// Actor is who asked (the admin key's id, never the key itself).
	Actor string
	// IdempotencyKey, when set, is recorded on the movement and makes the
	// write repeatable: the same key with the same write (Fingerprint)
	// answers the first outcome (the view, Replayed set) without writing;
	// with another write, ErrIdempotencyMismatch. Only accepted writes are
	// recorded: a refused one changes nothing, so it may be retried.
	IdempotencyKey string
	// IfVersion, when not 0, refuses the write with ErrVersionMismatch
	// unless the SKU is at exactly this version.
	IfVersion uint64
}

// Fingerprint is what must match for a repeated idempotency key to count
// as the same request (the actor and the key itself aside).
func (w *StockWrite) Fingerprint() string {
	return fmt.Sprintf("%s|%s|%s|%s|%d|%s|%s|%d", w.Op, w.SKU, w.Warehouse, w.To, w.Qty, w.Reason, w.Ref, w.IfVersion)
}

// IdempotencyPartition is the partition that owns a stock write's
// idempotency key. Keys are not scoped per SKU: the same key sent for
// another SKU is a different request (ErrIdempotencyMismatch), so a key's
// claim lives with the key, not with the SKU.
func IdempotencyPartition(sp keys.Space, key string) int { return sp.Partition(keys.Kind('i'), key) }

// Check validates the fields every backend checks the same way.
func (w *StockWrite) Check() error {
	switch w.Op {
	case OpSet, OpAdjust:
	case OpTransfer:
		if w.Qty <= 0 {
			return fmt.Errorf("%w: transfer qty %d must be positive", ErrInvalid, w.Qty)
		}
		if w.To == w.Warehouse {
			return fmt.Errorf("%w: transfer from %q to itself", ErrInvalid, w.To)
		}
	default:
		return fmt.Errorf("%w: stock op %q", ErrInvalid, w.Op)
	}
	if !ValidReason(w.Reason) {
		return fmt.Errorf("%w: reason %q", ErrInvalidReason, w.Reason)
	}
	if len(w.Ref) > MaxRefLen || len(w.Actor) > MaxRefLen || (w.IdempotencyKey != "" && !ValidIdempotencyKey(w.IdempotencyKey)) {
		return fmt.Errorf("%w: ref, actor or idempotency key too long", ErrInvalid)
	}
	return nil
}

// Replay rebuilds a SKU's stock from its movements (in Seq order, from the
// first retained one; an opening movement starts its warehouse over): each movement's deltas are applied, and the result must match the
// on_hand and reserved the movement recorded. It returns the view the
// ledger implies, or an error naming the first movement that disagrees.
func Replay(sku string, moves []Movement) (StockView, error) {
	v := StockView{SKU: sku, Warehouses: map[string]WarehouseStock{}}
	var lastSeq uint64
	for i, m := range moves {
		if m.SKU != sku {
			return v, fmt.Errorf("movement %s is of sku %q, not %q", m.ID, m.SKU, sku)
		}
		if i > 0 && m.Seq <= lastSeq {
			return v, fmt.Errorf("movement %s out of order (seq %d after %d)", m.ID, m.Seq, lastSeq)
		}
		if m.Version < v.Version {
			return v, fmt.Errorf("movement %s: version %d after %d", m.ID, m.Version, v.Version)
		}
		lastSeq = m.Seq
		w := v.Warehouses[m.Warehouse]
		if m.Kind == KindOpening {
			// The balance where the retained ledger starts: whatever came
			// before it was trimmed. A reader whose pages straddled a trim
			// may have seen older movements of the warehouse too; the
			// opening supersedes them.
			w = WarehouseStock{}
			if m.DeltaOnHand != m.OnHand || m.DeltaReserved != m.Reserved {
				return v, fmt.Errorf("movement %s: opening deltas %d/%d are not its balance %d/%d", m.ID, m.DeltaOnHand, m.DeltaReserved, m.OnHand, m.Reserved)
			}
		}
		w.OnHand += m.DeltaOnHand
		w.Reserved += m.DeltaReserved
		if w.OnHand != m.OnHand || w.Reserved != m.Reserved {
			return v, fmt.Errorf("movement %s (%s %s): replay gives on_hand %d reserved %d, it recorded %d and %d",
				m.ID, m.Kind, m.Warehouse, w.OnHand, w.Reserved, m.OnHand, m.Reserved)
		}
		if w.OnHand < 0 || w.Reserved < 0 || w.Reserved > w.OnHand {
			return v, fmt.Errorf("movement %s leaves %s with on_hand %d reserved %d", m.ID, m.Warehouse, w.OnHand, w.Reserved)
		}
		w.Available = w.OnHand - w.Reserved
		v.Warehouses[m.Warehouse] = w
		v.Version = m.Version
	}
	for _, w := range v.Warehouses {
		v.Available += w.Available
	}
	return v, nil
}

// SameView reports whether two views agree on version and every warehouse.
func SameView(a, b StockView) bool {
	if a.SKU != b.SKU || a.Version != b.Version || a.Available != b.Available || len(a.Warehouses) != len(b.Warehouses) {
		return false
	}
	for k, w := range a.Warehouses {
		if b.Warehouses[k] != w {
			return false
		}
	}
	return true
}

// MaxTrimBatch bounds one TrimLedger call's deletions.
const MaxTrimBatch = 10_000

// Opening turns a warehouse's last trimmed movement into its opening
// balance: same seq, warehouse, balance, version and time; deltas from
// zero; reason, ref, actor and idempotency key dropped (they described the
// trimmed change, not the balance).
func Opening(m Movement) Movement {
	return Movement{
		ID: m.ID, Cursor: m.Cursor, SKU: m.SKU, Warehouse: m.Warehouse, Kind: KindOpening,
		DeltaOnHand: m.OnHand, DeltaReserved: m.Reserved, OnHand: m.OnHand, Reserved: m.Reserved,
		Version: m.Version, At: m.At, Partition: m.Partition, Seq: m.Seq,
	}
}
