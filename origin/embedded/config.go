package embedded

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/shortstock/shortstock/internal/clock"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// FileName is the database file inside Config.Dir.
const FileName = "shortstock.db"

// Config configures a Store. Start from DefaultConfig; a zero field takes
// the default given in its comment, a negative one is refused.
type Config struct {
	// Partitions is the partition count of a new store: a power of two in
	// 1..keys.MaxPartitions, default keys.DefaultPartitions. It is recorded
	// in the file when the store is created and fixed from then on: Open of
	// an existing file with another count fails with
	// store.ErrPartitionMismatch (a file from before the count was recorded
	// has keys.LegacyPartitions).
	Partitions int
	// Dir is the directory of the database file (FileName), created with
	// mode 0750 if missing. Required. One process at a time: a second Open
	// of the same Dir waits LockTimeout for the file lock, then fails.
	Dir string
	// MaxBatchSize is the most writes committed in one transaction (one
	// fsync). Default 1024. It only matters under load: a batch is cut when
	// it is full or MaxBatchDelay after its first write, whichever comes
	// first, and full batches queue for the single writer. Small batches
	// (64) measured half the throughput here: commits of ~20 writes waiting
	// in line, each rewriting the pages the writes share (partition roots,
	// log tails), where one commit could have taken them all.
	MaxBatchSize int
	// MaxBatchDelay is how long a write waits for others to share its
	// transaction before it is committed alone. Default 1ms: the floor of a
	// lone write's latency, and what lets concurrent writes share an fsync.
	MaxBatchDelay time.Duration
	// ClickMergeDelay is how long the first click batch to arrive waits for
	// others, which then share its transaction (see clickmerge.go).
	// Default 250ms; negative applies every batch in a write of its own.
	// Every edge sends a batch a second, and each batch's write rewrites
	// the partitions and pages of the links it counts: merged, the hot
	// links of ten edges' batches are written once.
	ClickMergeDelay time.Duration
	// NoSync skips fsync on commit. Default false: every acknowledged write
	// is on disk. With NoSync a power loss (not a process crash) can lose
	// acknowledged writes or corrupt the file; only for tests and demos.
	NoSync bool
	// SyncFreelist writes bbolt's freelist on every commit. Default false,
	// as etcd runs bbolt: commits write fewer pages (the freelist grows as
	// trimming frees pages, and would be rewritten by every commit), and
	// Open instead reads the whole file: once to verify it (see
	// verifyFile) and once to rebuild the freelist. Durability is the same
	// either way; true makes Open fast on a large file.
	SyncFreelist bool
	// ChangeLogMaxLen is the most changes kept per partition log; older
	// ones are trimmed as new ones are appended. Default 100_000. An edge
	// that falls further behind sees the gap (Page.First) and drops the
	// partition's cached entries.
	ChangeLogMaxLen int
	// ChangeLogMaxAge is how long a change is kept. Default 24h. The newest
	// change of a partition is always kept, so its head stays readable.
	ChangeLogMaxAge time.Duration
	// IdempotencyTTL is how long a reservation's idempotency key is
	// remembered. Default 24h.
	IdempotencyTTL time.Duration
	// ReservationRetention is how long a committed, released or expired
	// reservation stays readable. It must be at least IdempotencyTTL, so a
	// replay can always return the reservation. Default 7 days. Held
	// reservations are never removed.
	ReservationRetention time.Duration
	// MaintenanceInterval is how often the background maintenance runs
	// (age trimming of the change log, forgetting idempotency keys and old
	// reservations). Default 1m.
	MaintenanceInterval time.Duration
	// LedgerIndexInterval is how long after a write the ledger's tail
	// (movements just written, in one store-wide bucket) is moved into the
	// partitions' ledger trees (ledgertail.go). Reads see the tail either
	// way; a longer interval shares each tree page among more movements
	// (at 50ms a synchronous adjust ran 28 % slower than without the
	// ledger, at 1s 12 %: docs/inventory.md). Default 1s.
	LedgerIndexInterval time.Duration
	// LedgerIndexTail is the tail length that starts an index pass before
	// LedgerIndexInterval is up, so a reader of a SKU's movements (which
	// scans the whole tail) never scans much more than this however fast
	// the writes come. Default 16384.
	LedgerIndexTail int
	// LockTimeout bounds waiting for the database file lock at Open.
	// Default 2s.
	LockTimeout time.Duration
	// InitialMmapSize is the initial memory map size in bytes. Default
	// 64 MiB. While the file fits in the map, a write that grows the file
	// does not have to wait for readers to remap it.
	InitialMmapSize int
	// Logger receives what the background maintenance has to say (it has
	// no caller to return errors to). Default slog.Default().
	Logger *slog.Logger
	// Clock stamps change records (AtUnixMs), times idempotency records and
	// settled reservations, and drives trimming. Reservations use the times
	// their callers pass. Default clock.Real{}.
	Clock clock.Clock
}

// Defaults of Config.
const (
	DefaultMaxBatchSize         = 1024
	DefaultMaxBatchDelay        = time.Millisecond
	DefaultClickMergeDelay      = 250 * time.Millisecond
	DefaultChangeLogMaxLen      = 100_000
	DefaultChangeLogMaxAge      = 24 * time.Hour
	DefaultIdempotencyTTL       = 24 * time.Hour
	DefaultReservationRetention = 7 * 24 * time.Hour
	DefaultMaintenanceInterval  = time.Minute
	DefaultLedgerIndexInterval  = time.Second
	DefaultLedgerIndexTail      = 16384
	DefaultLockTimeout          = 2 * time.Second
	DefaultInitialMmapSize      = 64 << 20
)

// DefaultConfig returns a Config for the database in dir with every default
// filled in.
func DefaultConfig(dir string) Config {
	return Config{
		Dir:                  dir,
		Partitions:           keys.DefaultPartitions,
		MaxBatchSize:         DefaultMaxBatchSize,
		MaxBatchDelay:        DefaultMaxBatchDelay,
		ClickMergeDelay:      DefaultClickMergeDelay,
		ChangeLogMaxLen:      DefaultChangeLogMaxLen,
		ChangeLogMaxAge:      DefaultChangeLogMaxAge,
		IdempotencyTTL:       DefaultIdempotencyTTL,
		ReservationRetention: DefaultReservationRetention,
		MaintenanceInterval:  DefaultMaintenanceInterval,
		LedgerIndexInterval:  DefaultLedgerIndexInterval,
		LedgerIndexTail:      DefaultLedgerIndexTail,
		LockTimeout:          DefaultLockTimeout,
		InitialMmapSize:      DefaultInitialMmapSize,
		Logger:               slog.Default(),
		Clock:                clock.Real{},
	}
}

// Path is the database file's path.
func (c Config) Path() string { return filepath.Join(c.Dir, FileName) }

// normalize fills zero fields with defaults and checks the rest; every
// error wraps store.ErrConfig.
func (c Config) normalize() (Config, error) {
	d := DefaultConfig(c.Dir)
	if c.Partitions == 0 {
		c.Partitions = d.Partitions
	}
	if c.MaxBatchSize == 0 {
		c.MaxBatchSize = d.MaxBatchSize
	}
	if c.MaxBatchDelay == 0 {
		c.MaxBatchDelay = d.MaxBatchDelay
	}
	if c.ClickMergeDelay == 0 {
		c.ClickMergeDelay = d.ClickMergeDelay
	}
	if c.ChangeLogMaxLen == 0 {
		c.ChangeLogMaxLen = d.ChangeLogMaxLen
	}
	if c.ChangeLogMaxAge == 0 {
		c.ChangeLogMaxAge = d.ChangeLogMaxAge
	}
	if c.IdempotencyTTL == 0 {
		c.IdempotencyTTL = d.IdempotencyTTL
	}
	if c.ReservationRetention == 0 {
		c.ReservationRetention = max(d.ReservationRetention, c.IdempotencyTTL)
	}
	if c.MaintenanceInterval == 0 {
		c.MaintenanceInterval = d.MaintenanceInterval
	}
	if c.LedgerIndexInterval == 0 {
		c.LedgerIndexInterval = d.LedgerIndexInterval
	}
	if c.LedgerIndexTail == 0 {
		c.LedgerIndexTail = d.LedgerIndexTail
	}
	if c.LockTimeout == 0 {
		c.LockTimeout = d.LockTimeout
	}
	if c.InitialMmapSize == 0 {
		c.InitialMmapSize = d.InitialMmapSize
	}
	if c.Clock == nil {
		c.Clock = d.Clock
	}
	if c.Logger == nil {
		c.Logger = d.Logger
	}

	var errs []error
	if c.Dir == "" {
		//lint:ignore ST1005 the message starts with the Config field it names
		errs = append(errs, errors.New("Dir is required"))
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"MaxBatchSize", int64(c.MaxBatchSize)},
		{"MaxBatchDelay", int64(c.MaxBatchDelay)},
		{"ChangeLogMaxLen", int64(c.ChangeLogMaxLen)},
		{"ChangeLogMaxAge", int64(c.ChangeLogMaxAge)},
		{"IdempotencyTTL", int64(c.IdempotencyTTL)},
		{"ReservationRetention", int64(c.ReservationRetention)},
		{"MaintenanceInterval", int64(c.MaintenanceInterval)},
		{"LedgerIndexInterval", int64(c.LedgerIndexInterval)},
		{"LedgerIndexTail", int64(c.LedgerIndexTail)},
		{"LockTimeout", int64(c.LockTimeout)},
		{"InitialMmapSize", int64(c.InitialMmapSize)},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative", f.name))
		}
	}
	if err := keys.ValidPartitions(c.Partitions); err != nil {
		errs = append(errs, err)
	}
	if c.MaxBatchDelay > time.Second {
		errs = append(errs, fmt.Errorf("MaxBatchDelay %v is above 1s: every lone write would wait that long", c.MaxBatchDelay))
	}
	if c.ClickMergeDelay > 10*time.Second {
		errs = append(errs, fmt.Errorf("ClickMergeDelay %v is above 10s: edges would wait that long for every click batch", c.ClickMergeDelay))
	}
	if c.ChangeLogMaxAge > 0 && c.ChangeLogMaxAge < time.Second {
		errs = append(errs, fmt.Errorf("ChangeLogMaxAge %v is below 1s: edges would lose changes to trimming all the time", c.ChangeLogMaxAge))
	}
	if c.ReservationRetention < c.IdempotencyTTL {
		errs = append(errs, fmt.Errorf("ReservationRetention (%v) must be at least IdempotencyTTL (%v)", c.ReservationRetention, c.IdempotencyTTL))
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("%w: embedded: %w", store.ErrConfig, err)
	}
	return c, nil
}
