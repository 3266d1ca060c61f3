package ledger

import (
	"context"

	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// What this package needs of a store.Store, each function asking for no
// more than it uses (a store.Store has them all).

// MovementReader reads a SKU's ledger (Replay).
type MovementReader interface {
	Movements(ctx context.Context, q store.MovementQuery) (store.MovementPage, error)
}

// Reader is what verifying reads: the stored views, the SKUs of a
// partition and their ledgers (CheckSKU, Verify). A Reader that is also a
// store.PrimaryReader has its views read from the primary.
type Reader interface {
	MovementReader
	GetStock(ctx context.Context, sku string) (store.StockView, error)
	StockSKUs(ctx context.Context, partition int) ([]string, error)
	// Partitions is the store's partition count (Verify and Rebuild walk
	// every partition).
	Partitions() keys.Space
}

// Rebuilder is a Reader that can write a view rebuilt from its ledger
// (RebuildSKU, Rebuild).
type Rebuilder interface {
	Reader
	RebuildStock(ctx context.Context, v store.StockView, lastSeq uint64) error
}

// FeedReader reads the movement feed, partition by partition (ReadFeed).
type FeedReader interface {
	LedgerHeads(ctx context.Context) ([]uint64, error)
	PartitionMovements(ctx context.Context, partition int, after uint64, limit int) ([]store.Movement, error)
}

// ManyPartitionsReader is a FeedReader that also reads several
// partitions' movements in one call: for each partition in after, up to
// limit of its movements after the seq given. ReadFeed uses it when the
// store has it (the embedded store answers from one transaction and one
// pass over its ledger tail, which each partition's read would scan).
type ManyPartitionsReader interface {
	FeedReader
	ManyPartitionMovements(ctx context.Context, after map[int]uint64, limit int) (map[int][]store.Movement, error)
}

var (
	_ Rebuilder  = store.Store(nil)
	_ FeedReader = store.Store(nil)
)
