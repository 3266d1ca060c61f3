// Package embedded is the origin's default storage: one durable bbolt
// (go.etcd.io/bbolt) file on local disk, for a single origin and for the
// zero-setup demo. It implements store.Store with the same partitions,
// versions and change log as the Redis backend, and passes origin/storetest.
//
// # Layout
//
// Each partition (Config.Partitions of them, recorded in the file) is a
// bucket holding the
// partition's links (and tombstones), stock, reservations, idempotency
// records, time-ordered indexes (held reservations by expiry, ended ones by
// age, idempotency records by age) and its change log, keyed by big-endian
// seq, next to the partition's head seq. See layout.go. Records use a small
// versioned binary encoding whose decoders reject anything they did not
// write (codec.go, records.go; fuzzed); change log entries use the wire
// form of internal/change.
//
// # Writes
//
// Every write is one bbolt transaction that checks, applies, bumps the
// key's version and appends the change: it commits entirely or not at all,
// so there is no oversell and no change without its write (or write
// without its change), crash or not. Writes go through db.Batch:
// concurrent writes share one transaction and one fsync (MaxBatchSize,
// MaxBatchDelay), which is what makes fsync-on-every-commit affordable;
// BenchmarkReserve measures it.
// Because Batch may run a function more than once and retries a failed one
// alone, write functions reset their results at their start and report
// domain outcomes (insufficient stock, not found, ...) through captured
// variables rather than by failing; only storage failures abort.
//
// Reads run in bbolt read transactions, concurrently with writes, and see
// committed data only.
//
// # Opening
//
// Open validates the Config (errors wrap store.ErrConfig), takes the
// file's lock (one Store per file), refuses files that are not a shortstock
// database, and reads an existing file once before using it, so a file
// damaged on disk is an error rather than a crash inside bbolt.
//
// # Housekeeping
//
// The change log is trimmed to ChangeLogMaxLen as it is appended to, so
// its length is bounded without help. A background goroutine (stopped and
// waited for by Close) runs Maintain every MaintenanceInterval: it trims
// changes older than ChangeLogMaxAge (always keeping a partition's newest),
// forgets idempotency records after IdempotencyTTL and ended reservations
// after ReservationRetention, all through time-ordered indexes in small
// transactions.
//
// Times of reservations come from the callers (ReserveRequest.Now, the now
// of Commit and ExpireHolds); Config.Clock stamps change records and times
// housekeeping, so tests drive both without sleeping.
package embedded
