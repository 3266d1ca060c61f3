package main

import (
	"errors"
	"fmt"

	"github.com/shortstock/shortstock/edge"
	"github.com/shortstock/shortstock/origin/store"
)

// errPartitions marks a partition count that is not the store's: the
// command exits 2 with one line naming both counts.
var errPartitions = errors.New("partition count mismatch")

// partitionsErr turns a store's or an edge's partition mismatch into one
// line naming both counts; other errors pass through.
func partitionsErr(err error) error {
	var pm *store.PartitionMismatchError
	switch {
	case errors.As(err, &pm):
		return fmt.Errorf("%w: store has %d partitions, --partitions says %d", errPartitions, pm.Stored, pm.Configured)
	case errors.Is(err, edge.ErrPartitionMismatch):
		var em *edge.PartitionMismatchError
		if errors.As(err, &em) {
			return fmt.Errorf("%w: origin has %d partitions, --partitions says %d", errPartitions, em.Origin, em.Configured)
		}
		return fmt.Errorf("%w: %v", errPartitions, err)
	}
	return err
}
