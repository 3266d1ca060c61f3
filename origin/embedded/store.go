package embedded

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"

	"github.com/shortstock/shortstock/origin/store"

	bolterr "go.etcd.io/bbolt/errors"

	"github.com/shortstock/shortstock/internal/keys"
)

// Store is the embedded store.Store. It is safe for concurrent use.
type Store struct {
	db  *bolt.DB
	cfg Config
	// space is the store's partition count (Config.Partitions, as recorded).
	space keys.Space

	// expireStart rotates the partition ExpireHolds starts from, so a
	// small max still reaches every partition over successive calls.
	expireStart atomic.Uint32
	// holdsMu guards holdsDue, the unix ns before which no hold is due as
	// of ExpireHolds' last scan (0: unknown, scan), and holdsGen, bumped by
	// every noteHold so a scan that raced a new hold does not record a due
	// time that ignores it.
	holdsMu  sync.Mutex
	holdsDue int64
	holdsGen uint64

	// benchNoLedger makes stock writes skip their movements: only the
	// benchmark of the ledger's cost sets it (export_test.go), to measure
	// the same write without the ledger.
	benchNoLedger bool

	// tailKick wakes the ledger indexer: a write appended to the ledger's
	// tail (ledgertail.go). Buffered 1; sends never block.
	tailKick chan struct{}
	// tailFull starts an index pass before LedgerIndexInterval is up: the
	// movements appended since the last pass began (tailAppended) reached
	// LedgerIndexTail. Buffered 1; sends never block.
	tailFull     chan struct{}
	tailAppended atomic.Int64

	// clickMerge gathers click batches into shared writes (clickmerge.go).
	clickMerge clickMerger
	// clickWrites counts the committed writes of click batches (tests).
	clickWrites atomic.Int64

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
	stop      chan struct{}
	// ctx is the maintenance loop's context, cancelled by Close so a pass
	// in progress stops promptly.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// watchers receive after every committed write (see ChangeNotify):
	// one channel per caller, since several origins (one per region of a
	// one-machine topology) may tail one store.
	watchMu  sync.Mutex
	watchers []chan struct{}
	// parts are the PartitionNotify watches, marked with each partition
	// whose change log a committed transaction appended to.
	parts []*store.PartitionWatch
	// heads holds each partition's committed change-log head, for Heads
	// (see loadHeads).
	heads []atomic.Uint64
}

var (
	_ store.Store             = (*Store)(nil)
	_ store.ChangeNotifier    = (*Store)(nil)
	_ store.PartitionNotifier = (*Store)(nil)
)

// ChangeNotify implements store.ChangeNotifier: every write transaction
// goes through write, update or the maintenance pass, and each signals
// after it commits. Each call returns a new channel (capacity one) of its
// own, signalled until the store closes.
func (s *Store) ChangeNotify() <-chan struct{} {
	ch := make(chan struct{}, 1)
	s.watchMu.Lock()
	s.watchers = append(s.watchers, ch)
	s.watchMu.Unlock()
	return ch
}

// PartitionNotify implements store.PartitionNotifier: every change
// appended marks its partition once its transaction has committed (bbolt's
// OnCommit), so a tailer reads that partition's log and not the heads of
// every partition: with 1024 partitions and three origins tailing one
// store, reading every head after each write cost more CPU than the
// writes.
func (s *Store) PartitionNotify() *store.PartitionWatch {
	w := store.NewPartitionWatch(s.space.N())
	s.watchMu.Lock()
	s.parts = append(s.parts, w)
	s.watchMu.Unlock()
	return w
}

// markPartition marks partition p on every PartitionNotify watch; it
// never blocks.
func (s *Store) markPartition(p int) {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	for _, w := range s.parts {
		w.Mark(p)
	}
}

// notifyChanged signals every ChangeNotify channel; it never blocks.
func (s *Store) notifyChanged() {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	for _, ch := range s.watchers {
		select {
		case ch <- struct{}{}:
		default: // a signal is pending already
		}
	}
}

// Open opens (creating if needed) the database in cfg.Dir and starts the
// background maintenance. It returns an error, never panics: a bad config
// (wrapping store.ErrConfig), a directory it cannot create, a file locked
// by another process past LockTimeout, or a file that is damaged or not a
// shortstock database.
func Open(cfg Config) (*Store, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("embedded: creating %s: %w", cfg.Dir, err)
	}
	if !cfg.SyncFreelist {
		if err := verifyFile(cfg); err != nil {
			return nil, err
		}
	}
	db, err := openDB(cfg)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, cfg: cfg, space: keys.MustSpace(cfg.Partitions), stop: make(chan struct{}), tailKick: make(chan struct{}, 1), tailFull: make(chan struct{}, 1)}
	if err := s.loadHeads(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("embedded: reading the change-log heads: %w", err)
	}
	s.kickIndexer() // a tail left by the last run
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(2)
	go s.maintenanceLoop()
	go s.ledgerIndexLoop()
	return s, nil
}

// openDB opens the bbolt file and makes sure it has this package's layout.
// bbolt panics on some damaged files instead of failing; that becomes an
// error here, so an operator sees which file is bad rather than a crash.
func openDB(cfg Config) (db *bolt.DB, err error) {
	defer func() {
		if p := recover(); p != nil {
			if db != nil {
				_ = db.Close()
			}
			db, err = nil, fmt.Errorf("embedded: %s is damaged: %v", cfg.Path(), p)
		}
	}()
	db, err = bolt.Open(cfg.Path(), 0o600, &bolt.Options{
		Timeout:         cfg.LockTimeout,
		NoSync:          cfg.NoSync,
		InitialMmapSize: cfg.InitialMmapSize,
		// The map freelist stays fast as the file fragments; the array one
		// degrades with many free pages (trimming makes many).
		FreelistType: bolt.FreelistMapType,
		// Not writing the freelist on every commit saves pages per commit
		// (about a quarter of them here); Open rebuilds it by scanning.
		NoFreelistSync: !cfg.SyncFreelist,
	})
	if err != nil {
		if errors.Is(err, bolterr.ErrTimeout) {
			return nil, fmt.Errorf("embedded: %s is locked by another process or Store (waited %v): %w", cfg.Path(), cfg.LockTimeout, err)
		}
		return nil, fmt.Errorf("embedded: opening %s: %w", cfg.Path(), err)
	}
	db.MaxBatchSize = cfg.MaxBatchSize
	db.MaxBatchDelay = cfg.MaxBatchDelay
	if err := db.Update(func(tx *bolt.Tx) error { return createLayout(tx, cfg.Partitions) }); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("embedded: %s: %w", cfg.Path(), err)
	}
	return db, nil
}

// Partitions implements store.Store: the count recorded in the file, which
// Open checked equals Config.Partitions.
func (s *Store) Partitions() keys.Space { return s.space }

// Config returns the store's configuration, defaults filled in.
func (s *Store) Config() Config { return s.cfg }

// Close stops the maintenance, waits for it, and closes the file. A
// transaction already running finishes first (bbolt waits for it); writes
// still queued for a batch, and every later call, fail with
// store.ErrClosed. Close is idempotent and returns the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		close(s.stop)
		s.cancel()
		s.wg.Wait()
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}

// Ping checks that the store is open and its file readable.
func (s *Store) Ping(ctx context.Context) error {
	return s.view(ctx, "ping", func(*bolt.Tx) error { return nil })
}

// begin checks what every operation checks first.
func (s *Store) begin(ctx context.Context, op string) error {
	if s.closed.Load() {
		return fmt.Errorf("embedded: %s: %w", op, store.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("embedded: %s: %w", op, err)
	}
	return nil
}

// view runs fn in a read transaction.
func (s *Store) view(ctx context.Context, op string, fn func(*bolt.Tx) error) error {
	if err := s.begin(ctx, op); err != nil {
		return err
	}
	return s.storageErr(op, s.db.View(fn))
}

// write runs fn in a batched write transaction: concurrent writes share
// one commit and one fsync. bbolt may run fn more than once (when another
// function of the batch fails, the batch is retried without it), so fn
// must reset whatever it reports at its start. Domain outcomes (not found,
// insufficient stock, ...) must be reported through captured variables
// with fn returning nil: an error from fn makes bbolt roll back the whole
// batch and re-run the failing function alone. fn returns an error only
// for storage failures, and then nothing it did is kept.
func (s *Store) write(ctx context.Context, op string, fn func(*bolt.Tx) error) error {
	if err := s.begin(ctx, op); err != nil {
		return err
	}
	err := s.db.Batch(fn)
	if err == nil {
		s.notifyChanged()
	}
	return s.storageErr(op, err)
}

// storageErr classifies an error from bbolt or from a transaction function.
func (s *Store) storageErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bolterr.ErrDatabaseNotOpen) || s.closed.Load():
		return fmt.Errorf("embedded: %s: %w", op, store.ErrClosed)
	case errors.Is(err, errCorrupt):
		// Not transient: retrying will not help, and a 503 would say it might.
		return fmt.Errorf("embedded: %s: %w", op, err)
	}
	// An I/O error (disk full, failed fsync): bbolt rolled the transaction
	// back, so nothing was applied.
	return fmt.Errorf("embedded: %s: %w: %w", op, store.ErrUnavailable, err)
}

// reservationPartition is the partition a reservation ID names, checked
// against the store's count.
func (s *Store) reservationPartition(id string) (int, error) {
	p, err := keys.ReservationPartition(id)
	if err == nil && !s.space.Valid(p) {
		err = fmt.Errorf("reservation id %q names partition %d of %d", id, p, s.space.N())
	}
	return p, err
}

// LocalReads reports that reads cost no network round trip
// (store.LocalReader).
func (s *Store) LocalReads() bool { return true }
