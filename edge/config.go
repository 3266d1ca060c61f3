package edge

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shortstock/shortstock/internal/clock"
	"github.com/shortstock/shortstock/internal/keys"
)

// Config configures an edge Server. Start from DefaultConfig; New fills
// zero fields with the defaults in their comments, except where a comment
// says zero means something else.
type Config struct {
	// Partitions is the partition count of the store behind the origins: a
	// power of two in 1..keys.MaxPartitions, default
	// keys.DefaultPartitions. It must be the store's (recorded when the
	// store was created): CheckOrigin refuses an origin of another count,
	// and heads and watermarks of another count are ignored.
	Partitions int
	// Region names the edge's region in logs and metrics. Default "local".
	Region string
	// NodeName names this edge in click batches, logs and metrics.
	// Default: the host name.
	NodeName string
	// Origins are the base URLs of the region's origins
	// ("http://127.0.0.1:9090"). The first is used while it answers; the
	// others are tried in order when it fails. At least one is required.
	Origins []string
	// ClusterToken is sent as "Authorization: Bearer <token>" on the
	// origin's internal API (see wire.ClusterToken). Empty: no header,
	// which only an origin started with InternalInsecure accepts.
	ClusterToken string
	// OriginTLS configures TLS to https:// origins (RootCAs for a private
	// CA; a client certificate). Default nil: the system roots.
	OriginTLS *tls.Config
	// NoPublicMetrics answers /_/metrics with 404 on the public port, for
	// an edge whose metrics are served on a separate admin listener
	// (topology.EdgeOptions.AdminListen, --admin-listen). Default false:
	// /_/metrics on the public port, as before.
	NoPublicMetrics bool

	// CacheBytes bounds the memory of cached answers. Default 256 MiB.
	CacheBytes int64
	// OriginTimeout bounds one fetch from the origins, all of them tried
	// included, so a key that is not cached answers 503 within it when no
	// origin answers. Default 1s.
	OriginTimeout time.Duration
	// StaleGrace is how long past its TTL a cached answer is still served
	// (X-Cache: STALE) while no origin can be reached. Default 5m.
	StaleGrace time.Duration
	// RevalidateWindow is the edge's own stale-while-revalidate: for this
	// long past its TTL (or after a soft purge) a cached answer is served
	// at once (X-Cache: STALE-REVALIDATING) while one background refresh
	// runs; past it a request waits for the origin. Capped at StaleGrace.
	// DefaultConfig sets 5s; 0 turns it off.
	RevalidateWindow time.Duration
	// NegativeTTL caps how long a 404 is cached, whatever the origin says:
	// a created key is normally announced by an invalidation, this bounds
	// the damage when one is lost. Default 5s.
	NegativeTTL time.Duration
	// ClickFlushInterval is how often click counts are sent to the origin.
	// Default 1s.
	ClickFlushInterval time.Duration
	// Analytics classifies every click (referrer host, device class,
	// browser family, country) on a background worker and sends hourly
	// aggregates with the click counts; see docs/analytics.md. Bots are
	// then counted apart, never as clicks. Default false here; the
	// shortstock binary turns it on (--analytics).
	Analytics bool
	// AnalyticsQueue is the number of clicks waiting for classification
	// the edge holds (rounded up to a power of two); past half of it the
	// worker samples. Default 4096.
	AnalyticsQueue int
	// AnalyticsRate is how many clicks per second the worker classifies
	// one by one; above it, it samples (and scales the sample to the exact
	// counts). It bounds the CPU analytics take from serving hits.
	// Default 20000.
	AnalyticsRate int
	// GeoIPDB is a MaxMind-format database (GeoLite2 Country or City) for
	// click countries. Default none: every country is "unknown".
	GeoIPDB string
	// HeadsPollInterval is how often the origin's change-log heads are
	// polled to find changes gossip lost. DefaultConfig sets 2s; 0 disables
	// the poll (the first contact still reads the heads once).
	HeadsPollInterval time.Duration
	// ReceiptInterval is how often the edge reports to its origin how far
	// it has applied the change log (for GET /v1/changes/{id} receipts);
	// only what moved is sent. DefaultConfig sets 100ms; 0 disables.
	ReceiptInterval time.Duration
	// GapGrace is how long a hole in a partition's change sequence may wait
	// for the missing change to arrive by gossip (which does not keep order)
	// before it is fetched from the change log. Default 50ms.
	GapGrace time.Duration
	// IgnorePushedValues makes the edge treat a change that carries the
	// key's new answer (change.Change.Value) as a plain invalidation:
	// drop the entry, fetch on the next request. Default false: a cached
	// key takes the pushed answer in place, with no origin fetch.
	IgnorePushedValues bool
	// ReadyWindow: /_/readyz needs an origin answer at most this old (it
	// probes the origin when the last one is older). Default 5s.
	ReadyWindow time.Duration
	// Ready, when set, must also say true for /_/readyz to answer 200; the
	// wiring passes "has joined gossip". Default nil (not consulted).
	Ready func() bool

	// Cache headers for browsers and CDNs in front of the edge (see
	// cacheheaders.go and docs/cdn.md). Rounded down to whole seconds.
	//
	// RedirectMaxAge is the browser max-age of a 302/307, and of a 301/308
	// of a link that may change (bounded). DefaultConfig sets 0.
	RedirectMaxAge time.Duration
	// PermanentMaxAge is the browser max-age of a 301/308 of a link that
	// has no expiry or visit limit and was never edited. DefaultConfig
	// sets 1h.
	PermanentMaxAge time.Duration
	// SharedMaxAge is s-maxage (and Surrogate-Control max-age): how long a
	// CDN may keep an answer without asking again. A CDN that takes purges
	// (docs/cdn.md) can keep it long. DefaultConfig sets 60s.
	SharedMaxAge time.Duration
	// StaleWhileRevalidate and StaleIfError are the RFC 5861 directives
	// offered to caches in front. DefaultConfig sets 30s and 5m.
	StaleWhileRevalidate time.Duration
	StaleIfError         time.Duration
	// Robots is the body of /robots.txt. Default: disallow everything.
	Robots string

	// Logger receives structured logs. Default slog.Default().
	Logger *slog.Logger
	// Registerer receives the edge's metrics. Default: a private registry.
	Registerer prometheus.Registerer
	// Gatherer is what /_/metrics serves. Default: the private registry, or
	// prometheus.DefaultGatherer when Registerer is the default registerer.
	Gatherer prometheus.Gatherer
	// Clock tells the time for every decision the edge makes: TTLs, stale
	// grace and revalidation, the staleness bound, gap grace, invalidation
	// delays, receipts, how long ago an origin answered. Only the budget of
	// one origin call (a network deadline, which fasthttp and contexts
	// enforce in real time, so a fake clock would never end it) and its
	// latency histogram read the wall clock. Default clock.Real{}.
	Clock clock.Clock

	// ReadTimeout bounds reading one request, headers and body. Default 5s.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing one response. Default 5s.
	WriteTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle this long. Default 60s.
	IdleTimeout time.Duration
	// MaxRequestBodySize caps request bodies; the public API takes none.
	// Default 4 KiB.
	MaxRequestBodySize int
	// ReadBufferSize is the per-connection read buffer, which also caps the
	// request line plus headers. Default 4 KiB.
	ReadBufferSize int
	// Concurrency caps connections served at once. Default 256 Ki.
	Concurrency int
	// ReadYield makes a connection yield the processor between a
	// response and the next read while the network is being polled
	// (yield.go): a failed read and a netpoller round trip fewer per
	// keep-alive request when the edge is saturated, at some cost in
	// tail latency when it is not (docs/bench.md, "Yield before the next
	// read"). Default false.
	ReadYield bool
	// DeadlineResolution is how often one goroutine checks the read,
	// write and idle deadlines of all connections, instead of a runtime
	// timer update per deadline, three per request (deadlines.go): a
	// timeout fires up to this late, never early. It is capped at a tenth
	// of the shortest of ReadTimeout, WriteTimeout and IdleTimeout.
	// Default 100ms; negative: exact deadlines, a timer each, as fasthttp
	// sets them. With coarse ones, each timeout that fires is counted in
	// shortstock_edge_connection_timeouts_total.
	DeadlineResolution time.Duration
	// MaxConnsPerOrigin caps connections to each origin. Default 512.
	MaxConnsPerOrigin int
}

// DefaultConfig returns a Config with every default filled in but Origins.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	if host == "" {
		host = "edge"
	}
	return Config{
		Partitions:         keys.DefaultPartitions,
		Region:             "local",
		NodeName:           host,
		CacheBytes:         256 << 20,
		OriginTimeout:      time.Second,
		StaleGrace:         5 * time.Minute,
		NegativeTTL:        5 * time.Second,
		RevalidateWindow:   5 * time.Second,
		ClickFlushInterval: time.Second,
		HeadsPollInterval:  2 * time.Second,
		ReceiptInterval:    100 * time.Millisecond,
		GapGrace:           50 * time.Millisecond,
		ReadyWindow:        5 * time.Second,
		Clock:              clock.Real{},
		ReadTimeout:        5 * time.Second,
		WriteTimeout:       5 * time.Second,
		IdleTimeout:        60 * time.Second,
		DeadlineResolution: 100 * time.Millisecond,
		MaxRequestBodySize: 4 << 10,
		ReadBufferSize:     4 << 10,
		Concurrency:        256 << 10,
		MaxConnsPerOrigin:  512,
		AnalyticsQueue:     4096,
		AnalyticsRate:      20000,

		PermanentMaxAge:      time.Hour,
		SharedMaxAge:         time.Minute,
		StaleWhileRevalidate: 30 * time.Second,
		StaleIfError:         5 * time.Minute,
		Robots:               DefaultRobots,
	}
}

// DefaultRobots is the default /robots.txt: short links are not pages to
// index.
const DefaultRobots = "User-agent: *\nDisallow: /\n"

func (c *Config) fill() {
	d := DefaultConfig()
	if c.Partitions == 0 {
		c.Partitions = keys.DefaultPartitions
	}
	setDefault(&c.Region, d.Region)
	setDefault(&c.NodeName, d.NodeName)
	setDefault(&c.CacheBytes, d.CacheBytes)
	setDefault(&c.OriginTimeout, d.OriginTimeout)
	setDefault(&c.StaleGrace, d.StaleGrace)
	setDefault(&c.NegativeTTL, d.NegativeTTL)
	setDefault(&c.ClickFlushInterval, d.ClickFlushInterval)
	setDefault(&c.GapGrace, d.GapGrace)
	setDefault(&c.ReadyWindow, d.ReadyWindow)
	setDefault(&c.ReadTimeout, d.ReadTimeout)
	setDefault(&c.WriteTimeout, d.WriteTimeout)
	setDefault(&c.IdleTimeout, d.IdleTimeout)
	setDefault(&c.DeadlineResolution, d.DeadlineResolution)
	setDefault(&c.MaxRequestBodySize, d.MaxRequestBodySize)
	setDefault(&c.ReadBufferSize, d.ReadBufferSize)
	setDefault(&c.Concurrency, d.Concurrency)
	setDefault(&c.MaxConnsPerOrigin, d.MaxConnsPerOrigin)
	setDefault(&c.Robots, d.Robots)
	setDefault(&c.AnalyticsQueue, d.AnalyticsQueue)
	setDefault(&c.AnalyticsRate, d.AnalyticsRate)
	if c.Clock == nil {
		c.Clock = d.Clock
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

func setDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

func (c *Config) validate() error {
	var errs []error
	if err := keys.ValidPartitions(c.Partitions); err != nil {
		errs = append(errs, err)
	}
	if c.AnalyticsQueue < 16 || c.AnalyticsQueue > 1<<20 {
		errs = append(errs, errors.New("AnalyticsQueue must be between 16 and 1048576"))
	}
	if c.AnalyticsRate < 1 {
		errs = append(errs, errors.New("AnalyticsRate must be at least 1 click per second"))
	}
	if c.GeoIPDB != "" && !c.Analytics {
		errs = append(errs, errors.New("GeoIPDB needs Analytics"))
	}
	if len(c.Origins) == 0 {
		errs = append(errs, errors.New("at least one origin is required"))
	}
	for _, o := range c.Origins {
		if _, _, err := parseOrigin(o); err != nil {
			errs = append(errs, err)
		}
	}
	if c.CacheBytes < 1<<20 {
		errs = append(errs, fmt.Errorf("CacheBytes %d is below 1 MiB", c.CacheBytes))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"OriginTimeout", c.OriginTimeout}, {"StaleGrace", c.StaleGrace}, {"RevalidateWindow", c.RevalidateWindow}, {"NegativeTTL", c.NegativeTTL},
		{"ClickFlushInterval", c.ClickFlushInterval}, {"HeadsPollInterval", c.HeadsPollInterval},
		{"GapGrace", c.GapGrace}, {"ReadyWindow", c.ReadyWindow}, {"ReadTimeout", c.ReadTimeout},
		{"WriteTimeout", c.WriteTimeout}, {"IdleTimeout", c.IdleTimeout},
		{"RedirectMaxAge", c.RedirectMaxAge}, {"PermanentMaxAge", c.PermanentMaxAge}, {"SharedMaxAge", c.SharedMaxAge},
		{"StaleWhileRevalidate", c.StaleWhileRevalidate}, {"StaleIfError", c.StaleIfError},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative", d.name))
		}
	}
	if c.ClickFlushInterval > 0 && c.ClickFlushInterval < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("ClickFlushInterval %v is below 10ms", c.ClickFlushInterval))
	}
	if c.ReceiptInterval < 0 || (c.ReceiptInterval > 0 && c.ReceiptInterval < 10*time.Millisecond) {
		errs = append(errs, fmt.Errorf("ReceiptInterval %v: want 0 (off) or at least 10ms", c.ReceiptInterval))
	}
	if c.HeadsPollInterval > 0 && c.HeadsPollInterval < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("HeadsPollInterval %v is below 10ms", c.HeadsPollInterval))
	}
	if len(c.Robots) > 64<<10 {
		//lint:ignore ST1005 the message starts with the Config field it names
		errs = append(errs, fmt.Errorf("Robots is %d bytes, at most 64 KiB", len(c.Robots)))
	}
	if c.ReadBufferSize < 1024 {
		errs = append(errs, fmt.Errorf("ReadBufferSize %d is below 1024", c.ReadBufferSize))
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"MaxRequestBodySize", c.MaxRequestBodySize}, {"Concurrency", c.Concurrency}, {"MaxConnsPerOrigin", c.MaxConnsPerOrigin}} {
		if n.v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative", n.name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

// parseOrigin checks an origin base URL and returns its host:port and
// whether it uses TLS.
func parseOrigin(raw string) (addr string, tls bool, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", false, fmt.Errorf("origin %q: %w", raw, err)
	}
	switch u.Scheme {
	case "http":
	case "https":
		tls = true
	default:
		return "", false, fmt.Errorf("origin %q: scheme must be http or https", raw)
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", false, fmt.Errorf("origin %q: no host", raw)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", false, fmt.Errorf("origin %q: must be scheme://host[:port] only", raw)
	}
	addr = u.Host
	if u.Port() == "" {
		if tls {
			addr += ":443"
		} else {
			addr += ":80"
		}
	}
	return addr, tls, nil
}
