package origin

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/clock"
)

// Publisher receives every change the origin's tailer reads from the
// storage change log, in seq order per partition. The gossip layer
// implements it; Publish must not block for long.
type Publisher interface {
	Publish(c change.Change)
}

// PublisherFunc adapts a function to Publisher.
type PublisherFunc func(change.Change)

// Publish calls f(c).
func (f PublisherFunc) Publish(c change.Change) { f(c) }

// Config configures an origin Server. Zero fields take the defaults given
// in their comments; see DefaultConfig.
type Config struct {
	// Region names the origin's region in logs and metrics. Default "local".
	Region string
	// Store is the storage backend. Required.
	Store Store
	// AdminKeys are the accepted admin API keys. At least one is required;
	// only their SHA-256 digests are kept.
	AdminKeys []string
	// ClusterToken authenticates edges on the internal API (see
	// wire.ClusterToken). Empty: the internal API answers loopback clients
	// only, which suits one machine and nothing else.
	ClusterToken string
	// Clock tells the time. Default clock.Real{}.
	Clock clock.Clock
	// Logger receives structured logs. Default slog.Default().
	Logger *slog.Logger
	// Registerer receives the origin's metrics. Default: a private registry
	// (served on /_/metrics together with Go runtime metrics).
	Registerer prometheus.Registerer
	// Gatherer is what /_/metrics serves. Default: the private registry, or
	// prometheus.DefaultGatherer when Registerer is the default registerer.
	Gatherer prometheus.Gatherer
	// MaxBodyBytes caps admin request bodies (413 above). Default 64 KiB.
	MaxBodyBytes int64
	// CodeLength is the length of generated link codes. Default 7.
	CodeLength int
	// LinkCacheTTL is how long an edge may serve a link before revalidating
	// (the safety net behind invalidations; never past expires_at).
	// Default 5m.
	LinkCacheTTL time.Duration
	// StockCacheTTL is the same for stock views. Default 30s.
	StockCacheTTL time.Duration
	// NegativeCacheTTL is how long an edge may cache a 404. Default 5s.
	NegativeCacheTTL time.Duration
	// ExpireInterval is how often held reservations past their expiry are
	// released. Default 1s.
	ExpireInterval time.Duration
	// TailInterval is how often the change log is polled for new changes.
	// Default 10ms.
	TailInterval time.Duration
	// Publisher receives changes from the tailer. Nil: the tailer still
	// runs (it feeds Heads and metrics) but publishes nowhere.
	Publisher Publisher
}

// DefaultConfig returns a Config with every default filled in except Store
// and AdminKeys, which the caller must set.
func DefaultConfig() Config {
	return Config{
		Region:           "local",
		Clock:            clock.Real{},
		MaxBodyBytes:     64 << 10,
		CodeLength:       7,
		LinkCacheTTL:     5 * time.Minute,
		StockCacheTTL:    30 * time.Second,
		NegativeCacheTTL: 5 * time.Second,
		ExpireInterval:   time.Second,
		TailInterval:     10 * time.Millisecond,
	}
}

func (c *Config) fill() {
	d := DefaultConfig()
	if c.Region == "" {
		c.Region = d.Region
	}
	if c.Clock == nil {
		c.Clock = d.Clock
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = d.MaxBodyBytes
	}
	if c.CodeLength == 0 {
		c.CodeLength = d.CodeLength
	}
	if c.LinkCacheTTL == 0 {
		c.LinkCacheTTL = d.LinkCacheTTL
	}
	if c.StockCacheTTL == 0 {
		c.StockCacheTTL = d.StockCacheTTL
	}
	if c.NegativeCacheTTL == 0 {
		c.NegativeCacheTTL = d.NegativeCacheTTL
	}
	if c.ExpireInterval == 0 {
		c.ExpireInterval = d.ExpireInterval
	}
	if c.TailInterval == 0 {
		c.TailInterval = d.TailInterval
	}
}

func (c *Config) validate() error {
	var errs []error
	if c.Store == nil {
		errs = append(errs, errors.New("Store is required"))
	}
	if len(c.AdminKeys) == 0 {
		errs = append(errs, errors.New("at least one admin key is required"))
	}
	for _, k := range c.AdminKeys {
		if len(k) < 16 {
			errs = append(errs, errors.New("admin keys must be at least 16 characters"))
			break
		}
	}
	if c.MaxBodyBytes < 1024 {
		errs = append(errs, fmt.Errorf("MaxBodyBytes %d is below 1024", c.MaxBodyBytes))
	}
	if c.CodeLength < 4 || c.CodeLength > 64 {
		errs = append(errs, fmt.Errorf("CodeLength %d is outside 4..64", c.CodeLength))
	}
	for name, d := range map[string]time.Duration{
		"LinkCacheTTL": c.LinkCacheTTL, "StockCacheTTL": c.StockCacheTTL,
		"NegativeCacheTTL": c.NegativeCacheTTL, "ExpireInterval": c.ExpireInterval,
		"TailInterval": c.TailInterval,
	} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative", name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}
