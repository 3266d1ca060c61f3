package cache

import "sync/atomic"

// Stats are the cache's counters, for the edge's metrics.
type Stats struct {
	// Loads and LoadErrors count Loader calls that answered or failed.
	Loads      atomic.Int64
	LoadErrors atomic.Int64
	// Invalidations counts invalidations that raised a key's floor;
	// InvalidationsRefused those that did not (replays, duplicates).
	Invalidations        atomic.Int64
	InvalidationsRefused atomic.Int64
	// FillsRefused counts loads that came back older than the key's floor.
	FillsRefused atomic.Int64
	// StaleDropped counts entries found older than their floor when about
	// to be served (a Set that landed after an invalidation's Del).
	StaleDropped atomic.Int64
	// Revalidations counts background refreshes started for entries
	// served past their TTL (stale-while-revalidate); SoftPurges entries
	// marked stale by a purge.
	Revalidations atomic.Int64
	SoftPurges    atomic.Int64
	// Updates counts pushed answers installed in place of an older entry
	// (Update); UpdatesSkipped those left out (the key not held here, or
	// not older).
	Updates        atomic.Int64
	UpdatesSkipped atomic.Int64
}
