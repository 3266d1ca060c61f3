package store

import (
	"context"
	"time"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/keys"
)

// Store is the storage contract of an origin. Every write is one atomic
// step that checks, applies, bumps the key's version and appends a change
// record to the key's partition log; a write that fails changes nothing.
// Implementations must be safe for concurrent use and pass
// origin/storetest.
//
// Keys: a link is keys.Key(keys.KindLink, code), a SKU's stock is
// keys.Key(keys.KindStock, sku); versions of one key only grow, across
// deletes too (a deleted link leaves a tombstone that keeps its version).
type Store interface {
	// CreateLink stores a new link at version (tombstone version + 1), or
	// fails with ErrCodeTaken.
	CreateLink(ctx context.Context, l NewLink) (Link, error)
	// GetLink returns the link, expired or not, with its click count. For an
	// unknown or deleted code it returns ErrNotFound and a Link whose Code
	// and Version (0, or the tombstone's) are set, for versioned 404s.
	GetLink(ctx context.Context, code string) (Link, error)
	// UpdateLink applies p and bumps the version.
	UpdateLink(ctx context.Context, code string, p LinkPatch) (Link, error)
	// DeleteLink removes the link, leaving a tombstone at version + 1, and
	// returns that version.
	DeleteLink(ctx context.Context, code string) (uint64, error)
	// AddClicks adds click counts to links; unknown codes are ignored.
	// Clicks do not change a link's version (redirects do not depend on them).
	AddClicks(ctx context.Context, counts map[string]int64) error

	// SetStock sets on_hand of a SKU in a warehouse (creating either);
	// ErrBelowReserved if onHand < reserved there, ErrInvalid if negative.
	SetStock(ctx context.Context, sku, warehouse string, onHand int64) (StockView, error)
	// AdjustStock adds delta to on_hand; ErrInsufficientStock if on_hand
	// would fall below reserved or below 0; ErrNotFound for an unknown SKU
	// or warehouse when delta < 0.
	AdjustStock(ctx context.Context, sku, warehouse string, delta int64) (StockView, error)
	// WriteStock runs a set, adjust or transfer (see StockWrite) and appends
	// its movements to the SKU's ledger in the same atomic step. SetStock
	// and AdjustStock are WriteStock without ledger details. A transfer
	// needs Qty on hand available (not reserved) in Warehouse, else
	// ErrInsufficientStock; ErrVersionMismatch when IfVersion is set and
	// the SKU is at another version (or does not exist: version 0).
	WriteStock(ctx context.Context, w StockWrite) (StockView, error)
	// Movements returns a page of a SKU's ledger, oldest first. An unknown
	// SKU has an empty ledger.
	Movements(ctx context.Context, q MovementQuery) (MovementPage, error)
	// LedgerHeads returns every partition's ledger head: the seq of its
	// newest movement (index = partition), for the movement feed.
	LedgerHeads(ctx context.Context) ([]uint64, error)
	// PartitionMovements returns up to limit movements of a partition with
	// seq > after, in seq order (the feed reads each partition this way).
	PartitionMovements(ctx context.Context, partition int, after uint64, limit int) ([]Movement, error)
	// TrimLedger applies ledger retention: it removes up to max movements
	// (at most MaxTrimBatch) older than before from the front of the
	// partitions' ledgers, oldest first, and returns how many it removed.
	// Each warehouse keeps its balance: its last trimmed movement stays as
	// a KindOpening movement (in Movements, not in the feed), so replaying
	// a SKU's retained ledger still gives its view. Safe to run from
	// several origins at once, and concurrently with writes.
	TrimLedger(ctx context.Context, before time.Time, max int) (int, error)
	// StockSKUs lists the SKUs that have a stock view in a partition (for
	// ledger verify and rebuild).
	StockSKUs(ctx context.Context, partition int) ([]string, error)
	// RebuildStock replaces a SKU's stock view with v, the view its ledger
	// replays to, provided the SKU's last movement is still lastSeq (else
	// ErrVersionMismatch: replay again), and appends a change so edges
	// refetch. It refuses (ErrInvalid) a v older than the stored version:
	// versions never go back.
	RebuildStock(ctx context.Context, v StockView, lastSeq uint64) error
	// GetStock returns the stock view; ErrNotFound (with Version set, as
	// GetLink) for an unknown SKU.
	GetStock(ctx context.Context, sku string) (StockView, error)

	// Reserve holds stock or fails with ErrInsufficientStock (ErrNotFound
	// for an unknown SKU). See ReserveRequest for idempotency.
	Reserve(ctx context.Context, r ReserveRequest) (Reservation, error)
	// GetReservation returns a reservation as stored (a held one past its
	// expiry stays "held" until ExpireHolds or Commit sees it).
	GetReservation(ctx context.Context, id string) (Reservation, error)
	// CommitReservation turns a hold into a sale: on_hand and reserved both
	// fall by qty. Committing a committed reservation returns it unchanged;
	// ErrReservationExpired if now is past its expiry (the hold is then
	// expired); ErrNotHeld if released or expired.
	CommitReservation(ctx context.Context, id string, now time.Time) (Reservation, error)
	// ReleaseReservation returns held stock. Releasing a released or
	// expired reservation returns it unchanged; ErrNotHeld if committed.
	ReleaseReservation(ctx context.Context, id string) (Reservation, error)
	// ExtendReservation moves a held reservation's expiry to now + ttl
	// (never earlier than it was). ErrNotHeld if it is not held,
	// ErrReservationExpired if it is held but already past its expiry.
	ExtendReservation(ctx context.Context, id string, now time.Time, ttl time.Duration) (Reservation, error)
	// ExpireHolds expires up to max held reservations whose expiry is at or
	// before now, returning how many it expired. Safe to run from several
	// origins at once: each hold is expired exactly once.
	ExpireHolds(ctx context.Context, now time.Time, max int) (int, error)

	// Changes returns up to limit changes of a partition with seq > after,
	// in seq order, with the partition's head and first retained seq.
	Changes(ctx context.Context, partition int, after uint64, limit int) (change.Page, error)
	// Heads returns the head seq of every partition (index = partition).
	Heads(ctx context.Context) ([]uint64, error)
	// Partitions returns the store's partition count: the one recorded in
	// its metadata when it was created (keys.LegacyPartitions for a store
	// older than the metadata). Open refuses a Config that says another
	// count with ErrPartitionMismatch. Heads and LedgerHeads have this many
	// entries.
	Partitions() keys.Space

	// Ping checks that storage is reachable.
	Ping(ctx context.Context) error
	// Close releases resources; it is idempotent.
	Close() error
}

// PrimaryReader is implemented by a Store whose plain reads may lag the
// writes (reads from replicas): it reads from the copy that took the write.
// The internal API uses it when an edge asks for at least a version the
// plain read does not have yet, so a refill after an invalidation never
// gets the old value from a replica that is behind (or, in a cluster, from
// another replica than the one the change log was read from).
type PrimaryReader interface {
	GetLinkPrimary(ctx context.Context, code string) (Link, error)
	GetStockPrimary(ctx context.Context, sku string) (StockView, error)
}

// LocalReader is implemented by a Store whose reads cost no network round
// trip (the embedded store): the origin then pushes each write's new
// answer with its change by default (origin.Config.PushValues).
type LocalReader interface {
	LocalReads() bool
}

// BatchReader is implemented by a Store that reads many keys in one round
// trip (Redis: one pipeline). The origin reads the answers it pushes with
// a page of changes through it, so a page costs one round trip, not one
// per change. Result i is what GetLink(codes[i]) (GetStock(skus[i]))
// would return.
type BatchReader interface {
	GetLinks(ctx context.Context, codes []string) ([]Link, []error)
	GetStocks(ctx context.Context, skus []string) ([]StockView, []error)
}

// ChangeNotifier is implemented by a Store that can tell when its change
// log may have grown: ChangeNotify returns a channel that receives
// (capacity one, signals coalesce, the writer never blocks) after a
// change is logged, so a tailer can block until there is something to
// read instead of polling the heads of every partition. The embedded
// store signals after each committed write transaction; the Redis store
// after each change any origin logs (a PUBLISH from its scripts) and
// whenever its subscription (re)starts. A tailer still polls, slowly, in
// case a signal is lost.
type ChangeNotifier interface {
	ChangeNotify() <-chan struct{}
}

// DefaultReservationTTL is used when a reservation request gives no TTL.
const DefaultReservationTTL = 10 * time.Minute

// MaxReservationTTL bounds ttl_seconds.
const MaxReservationTTL = 24 * time.Hour

// Purger is implemented by a Store that can log purges: a change record
// with change.Change.Purge set and version 0, appended to the key's
// partition log like a write's, so it reaches every edge (gossip and
// catch-up) and every region (replication) the way writes do, and edges'
// watermarks say when they applied it. It changes no data. key is a
// canonical key (keys.Key), or change.PurgeAllKey with change.PurgeAll.
type Purger interface {
	AppendPurge(ctx context.Context, key string, purge change.Purge) (change.Change, error)
}

// ChangeTrimmer is a Store whose change log is trimmed by age from
// outside: the origin calls TrimChanges every LedgerTrimInterval. (The
// Redis store caps its streams by length as it writes and by age only
// here; the embedded store trims its log by both itself.)
type ChangeTrimmer interface {
	// TrimChanges removes up to max changes older than the store's change
	// log retention at now, never a partition's newest, and returns how
	// many it removed.
	TrimChanges(ctx context.Context, now time.Time, max int) (int, error)
}
