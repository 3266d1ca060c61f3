package cache

import (
	"errors"
	"fmt"
	"math/bits"
	"time"

	"github.com/shortstock/shortstock/internal/clock"
	"github.com/shortstock/shortstock/internal/keys"
)

// Config configures a Cache. Zero fields take the defaults in their
// comments; see DefaultConfig.
type Config struct {
	// Partitions is the partition count keys are spread over (the store's,
	// see keys.Space): DropPartition and fills in flight are tracked per
	// partition. A power of two in 1..keys.MaxPartitions; default
	// keys.DefaultPartitions.
	Partitions int
	// Loader fetches misses from the origin. Required.
	Loader Loader
	// MaxCostBytes bounds the memory the entries take: their objects and
	// ristretto's bookkeeping for each (see Entry.cost). The admission
	// counters (NumCounters) come on top. Default 256 MiB.
	MaxCostBytes int64
	// NumCounters is the number of ristretto's admission counters (its
	// count-min sketch and doorkeeper cost about 4 bytes per counter, in
	// powers of two). Default countersFor(the ristretto items the budget
	// holds: MaxCostBytes / typicalEntryCost / KeysPerItem).
	NumCounters int64
	// KeysPerItem is how many keys share one ristretto item, on average
	// once the budget is full (0.7 to 1.4 x this many; see items.go): ristretto
	// spends ~170 bytes on each item, more than a cached redirect, and
	// sharing cuts it to ~25 bytes a key at 8 and ~13 at 16. The price is
	// coarser eviction: ristretto admits and evicts a bucket of keys by
	// their summed frequency (hit ratio on Zipf keys at the same links
	// held: 74.6 % at 8 and 73.9 % at 16 for s=1.01, 92.8 and 92.6 % for
	// s=1.2). 1 gives every key an item of its own. Default 16.
	KeysPerItem int
	// StaleGrace is how long past its TTL an entry may still be served
	// while the origin is unreachable. Default 5m.
	StaleGrace time.Duration
	// RevalidateWindow is stale-while-revalidate: for this long past its
	// TTL an entry is still served at once (Revalidating) while one
	// background refresh runs; past it a request waits for the load (or
	// gets Stale if the origin is down). At most StaleGrace. Default 0:
	// off.
	RevalidateWindow time.Duration
	// LoadTimeout bounds one Load (the Loader may stop sooner). Default 1s.
	LoadTimeout time.Duration
	// RetryBackoff is how long after a failed Load a stale entry is served
	// at once, with a refresh in the background, instead of making the
	// request wait for the origin. Default 1s.
	RetryBackoff time.Duration
	// FloorLifetime is how long the newest version announced for a key is
	// remembered to refuse older fills; it must be far longer than a Load
	// can take. Default 1m.
	FloorLifetime time.Duration
	// MaxFloors bounds the number of remembered versions. Default 1<<20.
	MaxFloors int
	// Clock tells the time for TTLs. Default clock.Real{}.
	Clock clock.Clock
}

// DefaultConfig returns a Config with every default filled in but Loader.
func DefaultConfig() Config {
	return Config{
		MaxCostBytes:  256 << 20,
		KeysPerItem:   16,
		StaleGrace:    5 * time.Minute,
		LoadTimeout:   time.Second,
		RetryBackoff:  time.Second,
		FloorLifetime: time.Minute,
		MaxFloors:     1 << 20,
		Clock:         clock.Real{},
	}
}

func (c *Config) fill() {
	d := DefaultConfig()
	if c.Partitions == 0 {
		c.Partitions = keys.DefaultPartitions
	}
	if c.MaxCostBytes == 0 {
		c.MaxCostBytes = d.MaxCostBytes
	}
	if c.KeysPerItem == 0 {
		c.KeysPerItem = d.KeysPerItem
	}
	if c.NumCounters == 0 && c.KeysPerItem > 0 {
		c.NumCounters = countersFor(c.MaxCostBytes / typicalEntryCost(c.KeysPerItem) / int64(c.KeysPerItem))
	}
	if c.StaleGrace == 0 {
		c.StaleGrace = d.StaleGrace
	}
	if c.LoadTimeout == 0 {
		c.LoadTimeout = d.LoadTimeout
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = d.RetryBackoff
	}
	if c.FloorLifetime == 0 {
		c.FloorLifetime = d.FloorLifetime
	}
	if c.MaxFloors == 0 {
		c.MaxFloors = d.MaxFloors
	}
	if c.Clock == nil {
		c.Clock = d.Clock
	}
}

func (c *Config) validate() error {
	var errs []error
	if c.Loader == nil {
		errs = append(errs, errors.New("Loader is required"))
	}
	if err := keys.ValidPartitions(c.Partitions); err != nil {
		errs = append(errs, err)
	}
	if c.MaxCostBytes < 1<<20 {
		errs = append(errs, fmt.Errorf("MaxCostBytes %d is below 1 MiB", c.MaxCostBytes))
	}
	if c.KeysPerItem < 1 || c.KeysPerItem > 64 {
		errs = append(errs, fmt.Errorf("KeysPerItem %d is not in 1..64", c.KeysPerItem))
	}
	if c.NumCounters < 0 {
		errs = append(errs, fmt.Errorf("NumCounters %d is negative", c.NumCounters))
	}
	if c.MaxFloors < 0 {
		errs = append(errs, fmt.Errorf("MaxFloors %d is negative", c.MaxFloors))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"StaleGrace", c.StaleGrace}, {"LoadTimeout", c.LoadTimeout}, {"RetryBackoff", c.RetryBackoff}, {"FloorLifetime", c.FloorLifetime}, {"RevalidateWindow", c.RevalidateWindow}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative", d.name))
		}
	}
	if c.StaleGrace > maxStaleGrace {
		errs = append(errs, fmt.Errorf("StaleGrace %v is longer than %v", c.StaleGrace, maxStaleGrace))
	}
	if c.RevalidateWindow > c.StaleGrace {
		errs = append(errs, fmt.Errorf("RevalidateWindow %v is longer than StaleGrace %v", c.RevalidateWindow, c.StaleGrace))
	}
	if c.FloorLifetime > 0 && c.FloorLifetime < 4*c.LoadTimeout {
		errs = append(errs, fmt.Errorf("FloorLifetime %v must be at least 4 x LoadTimeout %v, or a slow fill could outlive the floor that refuses it", c.FloorLifetime, c.LoadTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

// countersFor returns the admission counters for a cache of about entries
// ristretto items (buckets of keys, see items.go): about four per item,
// the largest power of two up to six per item (ristretto rounds its sketch up to a power of two, and the
// doorkeeper's bloom filter grows in powers of two too, so a count just
// past one doubles their memory). ristretto suggests ten per entry; what
// more counters buy is a longer frequency history. Measured with
// ristretto's own policy on Zipf keys, 4 vs 10 per entry cost 3.9 points of
// hit ratio at s=1.01 (56.9 vs 60.8 %) and 1.0 at s=1.2 (87.0 vs 88.0 %),
// and take 16 instead of 48 MiB per million entries: the memory of ~100 K
// more links.
func countersFor(entries int64) int64 {
	n := max(6*entries, 1024)
	return int64(1) << (63 - bits.LeadingZeros64(uint64(n)))
}
