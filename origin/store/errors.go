package store

import (
	"errors"
	"fmt"
)

// Sentinel errors of the origin and its stores. Backends wrap them with %w;
// callers test with errors.Is. The admin API maps each to a status and a
// machine code (see errorStatus).
var (
	// ErrNotFound: no such link, SKU or reservation (or a deleted link).
	ErrNotFound = errors.New("not found")
	// ErrCodeTaken: CreateLink with a code that exists.
	ErrCodeTaken = errors.New("code taken")
	// ErrInsufficientStock: a reservation or adjust that would oversell.
	ErrInsufficientStock = errors.New("insufficient stock")
	// ErrBelowReserved: SetStock below what is reserved in that warehouse.
	ErrBelowReserved = errors.New("on_hand below reserved")
	// ErrNotHeld: commit or release of a reservation that is not held.
	ErrNotHeld = errors.New("reservation not held")
	// ErrReservationExpired: commit of a hold whose time ran out.
	ErrReservationExpired = errors.New("reservation expired")
	// ErrIdempotencyMismatch: an idempotency key reused for another request.
	ErrIdempotencyMismatch = errors.New("idempotency key reused with different parameters")
	// ErrVersionMismatch: a write with IfVersion when the SKU moved on.
	ErrVersionMismatch = errors.New("version mismatch")
	// ErrInvalidReason: a stock write with a reason outside Reasons.
	ErrInvalidReason = errors.New("invalid reason")
	// ErrInvalid: input a store refuses (it should have been caught earlier).
	ErrInvalid = errors.New("invalid input")
	// ErrUnavailable: storage cannot be reached; nothing was applied,
	// unless the error also wraps ErrOutcomeUnknown.
	ErrUnavailable = errors.New("storage unavailable")
	// ErrOutcomeUnknown: a write may or may not have been applied (its
	// reply was lost, or it was applied but not confirmed on the replicas
	// it must reach before it is acknowledged). Backends wrap it together
	// with ErrUnavailable; a retry with the same idempotency key is safe.
	ErrOutcomeUnknown = errors.New("outcome unknown")
	// ErrJobKind: RunJob on a job whose lines the store does not apply
	// itself (a links job, see ChunkJobs).
	ErrJobKind = errors.New("job of another kind")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store closed")
	// ErrPartitionMismatch: Open of a store whose recorded partition count
	// is not the configured one. The count is fixed when a store is created
	// (every key's partition depends on it); the wrapping error names both.
	ErrPartitionMismatch = errors.New("partition count mismatch")
)

// ErrConfig wraps every reason a backend refuses its Config.
var ErrConfig = errors.New("store: invalid config")

// PartitionMismatchError is the error a backend's Open returns (wrapped)
// when the store records another partition count than configured. It
// matches ErrPartitionMismatch under errors.Is.
type PartitionMismatchError struct {
	Stored, Configured int
}

func (e *PartitionMismatchError) Error() string {
	return fmt.Sprintf("%v: store has %d partitions, configured %d", ErrPartitionMismatch, e.Stored, e.Configured)
}

// Is makes errors.Is(err, ErrPartitionMismatch) true.
func (e *PartitionMismatchError) Is(target error) bool { return target == ErrPartitionMismatch }
