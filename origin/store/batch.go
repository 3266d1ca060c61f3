package store

import (
	"context"
	"fmt"
)

// BatchCreator is implemented by a store that can create many links in
// one atomic step (the embedded store: one transaction). Bulk import uses
// it when it can, and creates link by link otherwise.
type BatchCreator interface {
	// CreateLinks creates every link or none. When a code is taken (or
	// appears twice) it returns a *BatchError naming the first such link,
	// wrapping ErrCodeTaken, and writes nothing.
	CreateLinks(ctx context.Context, ls []NewLink) ([]Link, error)
}

// BatchError says which link of a batch was refused.
type BatchError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string { return fmt.Sprintf("link %d of the batch: %v", e.Index, e.Err) }
func (e *BatchError) Unwrap() error { return e.Err }
