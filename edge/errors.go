package edge

import (
	"errors"
	"fmt"
)

var (
	// ErrConfig wraps every configuration error New returns.
	ErrConfig = errors.New("edge: bad config")
	// ErrOrigin wraps failures to get an answer from any origin.
	ErrOrigin = errors.New("edge: origin unavailable")
	// ErrProtocol wraps answers from an origin that break internal/wire.
	ErrProtocol = errors.New("edge: bad answer from origin")
	// ErrPartitionMismatch wraps an origin (or gossip peer) whose store has
	// another partition count than Config.Partitions (CheckOrigin; at run
	// time the answer or message is refused). The error names both counts.
	ErrPartitionMismatch = errors.New("edge: partition count mismatch")
	// ErrClosed is returned by Serve after Shutdown or Close.
	ErrClosed = errors.New("edge: server closed")
)

// PartitionMismatchError is an origin whose store has another partition
// count than the edge's Config.Partitions; it matches ErrPartitionMismatch.
type PartitionMismatchError struct {
	Origin, Configured int
}

func (e *PartitionMismatchError) Error() string {
	return fmt.Sprintf("%v: origin has %d partitions, edge configured for %d", ErrPartitionMismatch, e.Origin, e.Configured)
}

// Is makes errors.Is(err, ErrPartitionMismatch) true.
func (e *PartitionMismatchError) Is(target error) bool { return target == ErrPartitionMismatch }
