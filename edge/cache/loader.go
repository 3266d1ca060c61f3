package cache

import (
	"context"

	"github.com/shortstock/shortstock/internal/keys"
)

// Loader fetches one key from the origin and renders the answer. It is
// declared here, by its caller, so the cache needs nothing from the code
// that talks to the origin (groupcache's Getter, in the same spirit).
//
// Load returns the answer to cache, a 404 included (Answer.Negative),
// rendered by NewEntry, or an error when the origin could not give one
// (unreachable, timeout, 5xx). Each call returns a new Entry: the cache
// takes it over, finishes it and shares it with every request it serves.
//
// minVersion is the newest version of the key the cache has seen from
// invalidations (0 when none): a Loader passes it to the origin, so that a
// read from a replica still behind that version is repeated on the
// primary rather than refused here.
type Loader interface {
	Load(ctx context.Context, kind keys.Kind, id string, minVersion uint64) (*Entry, error)
}

// LoaderFunc adapts a function to Loader.
type LoaderFunc func(ctx context.Context, kind keys.Kind, id string, minVersion uint64) (*Entry, error)

// Load calls f.
func (f LoaderFunc) Load(ctx context.Context, kind keys.Kind, id string, minVersion uint64) (*Entry, error) {
	return f(ctx, kind, id, minVersion)
}
