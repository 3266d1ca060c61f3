package origin

import (
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/clock"
	"github.com/shortstock/shortstock/origin/store"
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

// PushValuesMode is Config.PushValues.
type PushValuesMode uint8

const (
	PushValuesAuto PushValuesMode = iota // on for stores with local reads
	PushValuesOn
	PushValuesOff
)

// ParsePushValues parses "auto", "on" or "off".
func ParsePushValues(s string) (PushValuesMode, error) {
	switch s {
	case "auto":
		return PushValuesAuto, nil
	case "on":
		return PushValuesOn, nil
	case "off":
		return PushValuesOff, nil
	}
	return 0, fmt.Errorf("push values %q: want auto, on or off", s)
}

// Config configures an origin Server. Zero fields take the defaults given
// in their comments; see DefaultConfig.
type Config struct {
	// LinkFeatures: visit-limit leases, public short URLs (config_links.go).
	LinkFeatures
	// Region names the origin's region in logs and metrics. Default "local".
	Region string
	// Store is the storage backend. Required.
	Store store.Store
	// Cold is the cold tier of links (tiers.go). Default none.
	Cold ColdTier
	// AdminKeys are accepted admin API keys with every scope, at least
	// MinAdminKeyLen characters each. Only their SHA-256 digests are kept.
	// AdminKeys and ScopedAdminKeys together need at least one key.
	AdminKeys []string
	// ScopedAdminKeys are accepted admin API keys as digests with scopes
	// (see ParseAdminKey, ParseAdminKeySHA256, NewAdminKey). A key given
	// twice, here or in AdminKeys, gets the union of its scopes. A request
	// outside its key's scopes is answered 403 forbidden.
	ScopedAdminKeys []AdminKey
	// ClusterToken authenticates edges on the internal API (see
	// wire.ClusterToken), and is what this origin sends to its peer
	// origins. At least MinClusterTokenLen bytes. Required unless
	// InternalInsecure: New refuses a Config with neither
	// (ErrNoClusterToken).
	ClusterToken string
	// ClusterTokens are further tokens the internal API accepts, for a
	// rotation: while edges move from the old secret to the new one the
	// origin accepts both. Default none.
	ClusterTokens []string
	// InternalInsecure serves the internal API to any client without a
	// token. Only for a test or a machine whose port nobody else can
	// reach; it contradicts ClusterToken. Default false.
	InternalInsecure bool
	// InternalLoopback serves the internal API without a token to clients
	// whose connection comes from a loopback address (the peer address;
	// X-Forwarded-For is never read for it), and refuses every other
	// client. For an origin that listens on loopback only, where nobody
	// off the machine can reach it (cmd: no --cluster-secret with a
	// loopback --listen). Contradicts a token and InternalInsecure.
	// Default false.
	InternalLoopback bool
	// InternalRate and InternalBurst limit internal API requests per
	// client IP (token bucket, as the admin limits; failed
	// authentications share AuthFailureRate's budget per IP, apart from
	// the admin API's). Default 20000/s, burst 40000: edges coalesce
	// their misses, so even a busy edge sends far fewer; a negative rate
	// turns it off.
	InternalRate  float64
	InternalBurst int
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
	// LedgerRetention is how long stock movements are kept: a background
	// pass (ledgerretention.go) trims older ones, keeping each warehouse's
	// balance as an opening movement. 0 (the default) keeps them all.
	LedgerRetention time.Duration
	// LedgerTrimInterval is how often that pass runs when LedgerRetention
	// is set, and the change log's age retention pass of a store trimmed
	// from outside (store.ChangeTrimmer: Redis). Default 1m.
	LedgerTrimInterval time.Duration
	// BulkMaxBytes caps a POST /v1/stock:bulk body (413 above, nothing
	// queued). Default 64 MiB; store.MaxJobLines bounds its lines.
	BulkMaxBytes int64
	// JobPollInterval is how often the bulk job worker looks for queued
	// jobs it was not told about (another origin's, or left by a crash).
	// Default 250ms.
	JobPollInterval time.Duration
	// JobLease is how long a worker holds a job between steps before
	// another origin may take it over. Default 30s.
	JobLease time.Duration
	// ImportSyncMaxLines: a POST /v1/links:import of at most this many
	// links runs synchronously (200 summary); a larger one is queued as a
	// job (202) when the store has a job queue. Default 1000 (one chunk).
	ImportSyncMaxLines int
	// NoJobWorker turns this origin's bulk job worker off: it still
	// accepts and shows jobs, and other origins of the region run them.
	NoJobWorker bool
	// PurgeHooks are downstream caches to purge after every change (see
	// purgehook.Config.URLs); PurgeHookSecret signs those purges (at least
	// 16 bytes, required with hooks).
	PurgeHooks      []string
	PurgeHookSecret []byte
	// PeerOrigins are the other regions' origin base URLs: a change
	// receipt and GET /v1/topology ask them for their edges (see
	// SetPeers). Default none: both list this origin's region only.
	PeerOrigins []string
	// PeerTLS configures TLS to https:// peer origins (RootCAs for a
	// private CA). Default nil: the system roots.
	PeerTLS *tls.Config
	// ReceiptLiveWindow: an edge that has not reported what it applied
	// for this long counts as down in change receipts ("unknown"), and no
	// longer holds a receipt back. Default 3s.
	ReceiptLiveWindow time.Duration
	// TailInterval is how often the change log is polled for new changes.
	// Default 10ms. A store that signals its commits
	// (store.ChangeNotifier: the embedded store) wakes the tailer itself,
	// and is then polled only every max(TailInterval, 1s) as a safety net.
	// On Redis the signal is a PUBLISH from every script that logs a
	// change (so other origins' writes wake it too), and a lost
	// subscription signals when it is back.
	TailInterval time.Duration
	// PushValues says whether the tailer attaches each write's new answer
	// to its change (change.Change.Value, pushvalues.go), so edges that
	// hold the key install it instead of fetching it again. Default
	// PushValuesAuto: on for a store whose reads are local
	// (store.LocalReader: the embedded store), off for Redis, where each
	// page's values cost the tailer a round trip and, at ~1000 writes/s,
	// measured a worse write and invalidation tail (docs/cdn.md).
	// PushValuesOff also serves rolling upgrades: edges older than the
	// value codec reject such changes and catch them up from the log.
	PushValues PushValuesMode
	// Publisher receives changes from the tailer. Nil: the tailer still
	// runs (it feeds Heads and metrics) but publishes nowhere.
	Publisher Publisher

	// Rate limits on the admin API are token buckets: a rate (requests
	// per second, the refill) and a burst (the bucket size). A zero rate
	// or burst takes the default; a negative rate turns the limit off.
	// Over a limit the answer is 429 rate_limited with Retry-After.

	// KeyRate and KeyBurst limit each admin key. Default 1000/s, burst
	// 2000: far above an operator's scripts, low enough that a leaked or
	// runaway key cannot monopolise storage.
	KeyRate  float64
	KeyBurst int
	// IPRate and IPBurst limit every admin request from one client IP,
	// keyed or not. Default 1000/s, burst 2000. Behind a proxy every
	// client shares the proxy's address unless TrustedProxies names it.
	IPRate  float64
	IPBurst int
	// AuthFailureRate and AuthFailureBurst limit failed authentications
	// (requests that present credentials and are refused 401) per client
	// IP. While that budget is empty every admin request from the IP is
	// answered 429 before any key is checked, so a guesser learns
	// nothing more. Default 1/s, burst 20: a person mistyping a key never
	// notices, a guesser gets 86400 tries a day against a key space of at
	// least 16 characters.
	AuthFailureRate  float64
	AuthFailureBurst int
	// MaxTrackedIPs caps the client IPs the per-IP limits remember (about
	// 200 bytes each); past it the least recently seen is forgotten. Idle
	// entries are forgotten anyway. IPv6 clients count per /64.
	// Default 16384.
	MaxTrackedIPs int
	// TrustedProxies are the networks of proxies whose X-Forwarded-For is
	// believed: for a request from one of them, the client IP is the
	// rightmost X-Forwarded-For address that is not itself trusted.
	// Default none: the client IP is the connection's peer.
	TrustedProxies []netip.Prefix

	// URL policy for link targets (see URLPolicy; ValidateURL's syntax
	// rules always apply).

	// RejectHomographs answers 400 suspicious_url to hosts that may
	// impersonate another (mixed scripts in a label, Cyrillic posing as
	// Latin). Default false: such links are accepted and carry
	// "flags":["idn_homograph"], since legitimate IDNs exist and the
	// operator decides.
	RejectHomographs bool
	// BlockPrivateTargets answers 400 invalid_url to targets that are
	// private, loopback, link-local, unspecified or reserved IP literals,
	// localhost and special-use names (*.localhost, *.local, *.internal,
	// *.home.arpa): a public short link must not lead clients into the
	// network they sit in. DefaultConfig sets it to true; a Config not
	// built from DefaultConfig gets false.
	BlockPrivateTargets bool
	// OwnDomains are the shortener's own domains (bare host names or IP
	// literals); targets on them or their subdomains are refused 400
	// invalid_url, since such a link can redirect in a loop. Default none.
	OwnDomains []string
	// AnalyticsRetention is how long hourly click analytics are kept.
	// Default 400 days.
	AnalyticsRetention time.Duration
}

// urlPolicy is the URL policy the Config describes.
func (c *Config) urlPolicy() URLPolicy {
	return URLPolicy{RejectHomographs: c.RejectHomographs, BlockPrivateTargets: c.BlockPrivateTargets, OwnDomains: c.OwnDomains}
}

// DefaultConfig returns a Config with every default filled in except Store
// and the admin keys, which the caller must set.
func DefaultConfig() Config {
	return Config{
		Region:              "local",
		Clock:               clock.Real{},
		MaxBodyBytes:        64 << 10,
		CodeLength:          7,
		LinkCacheTTL:        5 * time.Minute,
		StockCacheTTL:       30 * time.Second,
		NegativeCacheTTL:    5 * time.Second,
		ExpireInterval:      time.Second,
		LedgerTrimInterval:  time.Minute,
		BulkMaxBytes:        64 << 20,
		JobPollInterval:     250 * time.Millisecond,
		JobLease:            30 * time.Second,
		ImportSyncMaxLines:  1000,
		TailInterval:        10 * time.Millisecond,
		ReceiptLiveWindow:   3 * time.Second,
		KeyRate:             1000,
		KeyBurst:            2000,
		IPRate:              1000,
		IPBurst:             2000,
		AuthFailureRate:     1,
		AuthFailureBurst:    20,
		MaxTrackedIPs:       16384,
		InternalRate:        20000,
		InternalBurst:       40000,
		BlockPrivateTargets: true,
		AnalyticsRetention:  400 * 24 * time.Hour,
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
	if c.LedgerTrimInterval == 0 {
		c.LedgerTrimInterval = d.LedgerTrimInterval
	}
	if c.BulkMaxBytes == 0 {
		c.BulkMaxBytes = d.BulkMaxBytes
	}
	if c.JobPollInterval == 0 {
		c.JobPollInterval = d.JobPollInterval
	}
	if c.ImportSyncMaxLines == 0 {
		c.ImportSyncMaxLines = d.ImportSyncMaxLines
	}
	if c.JobLease == 0 {
		c.JobLease = d.JobLease
	}
	if c.ReceiptLiveWindow <= 0 {
		c.ReceiptLiveWindow = d.ReceiptLiveWindow
	}
	if c.TailInterval == 0 {
		c.TailInterval = d.TailInterval
	}
	c.LinkFeatures.fill()
	fillRate(&c.KeyRate, &c.KeyBurst, d.KeyRate, d.KeyBurst)
	fillRate(&c.IPRate, &c.IPBurst, d.IPRate, d.IPBurst)
	fillRate(&c.AuthFailureRate, &c.AuthFailureBurst, d.AuthFailureRate, d.AuthFailureBurst)
	fillRate(&c.InternalRate, &c.InternalBurst, d.InternalRate, d.InternalBurst)
	if c.MaxTrackedIPs == 0 {
		c.MaxTrackedIPs = d.MaxTrackedIPs
	}
	if c.AnalyticsRetention == 0 {
		c.AnalyticsRetention = d.AnalyticsRetention
	}
}

func fillRate(r *float64, burst *int, dr float64, db int) {
	if *r == 0 {
		*r = dr
	}
	if *burst == 0 {
		*burst = db
	}
}

// emptyKeyDigest is the SHA-256 of "": accepting it would accept requests
// without a key.
var emptyKeyDigest = sha256.Sum256(nil)

func (c *Config) validate() error {
	var errs []error
	if err := c.LinkFeatures.validate(); err != nil {
		errs = append(errs, err)
	}
	if c.AnalyticsRetention < time.Hour {
		errs = append(errs, errors.New("AnalyticsRetention must be at least 1h"))
	}
	if c.Store == nil {
		//lint:ignore ST1005 the message starts with the Config field it names
		errs = append(errs, errors.New("Store is required"))
	}
	if len(c.AdminKeys)+len(c.ScopedAdminKeys) == 0 {
		errs = append(errs, errors.New("at least one admin key is required"))
	}
	for _, k := range c.AdminKeys {
		if len(k) < MinAdminKeyLen {
			errs = append(errs, ErrAdminKeyTooShort)
			break
		}
	}
	for i, k := range c.ScopedAdminKeys {
		// The index, never the key or digest, identifies it.
		if k.Scopes == 0 || k.Scopes&^ScopeAll != 0 {
			errs = append(errs, fmt.Errorf("ScopedAdminKeys[%d] has no valid scopes", i))
		}
		if k.SHA256 == emptyKeyDigest || k.SHA256 == ([sha256.Size]byte{}) {
			errs = append(errs, fmt.Errorf("ScopedAdminKeys[%d] is the digest of an empty key, or unset", i))
		}
	}
	for _, l := range []struct {
		name  string
		rate  float64
		burst int
	}{
		{"Key", c.KeyRate, c.KeyBurst}, {"IP", c.IPRate, c.IPBurst}, {"AuthFailure", c.AuthFailureRate, c.AuthFailureBurst},
		{"Internal", c.InternalRate, c.InternalBurst},
	} {
		if math.IsNaN(l.rate) || math.IsInf(l.rate, 0) {
			errs = append(errs, fmt.Errorf("%sRate must be a finite number", l.name))
		}
		if l.burst < 1 {
			errs = append(errs, fmt.Errorf("%sBurst %d must be at least 1", l.name, l.burst))
		}
	}
	errs = append(errs, c.validateClusterTokens()...)
	if c.MaxTrackedIPs < 1 {
		errs = append(errs, fmt.Errorf("MaxTrackedIPs %d must be at least 1", c.MaxTrackedIPs))
	}
	for _, p := range c.TrustedProxies {
		if !p.IsValid() {
			errs = append(errs, errors.New("TrustedProxies holds an invalid prefix"))
			break
		}
	}
	if err := c.urlPolicy().Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.MaxBodyBytes < 1024 {
		errs = append(errs, fmt.Errorf("MaxBodyBytes %d is below 1024", c.MaxBodyBytes))
	}
	if c.BulkMaxBytes < 1024 {
		errs = append(errs, fmt.Errorf("BulkMaxBytes %d is below 1024", c.BulkMaxBytes))
	}
	if c.ImportSyncMaxLines < 0 {
		errs = append(errs, fmt.Errorf("ImportSyncMaxLines %d is negative", c.ImportSyncMaxLines))
	}
	if c.JobPollInterval < 0 || c.JobLease < time.Second {
		errs = append(errs, fmt.Errorf("JobPollInterval %v must not be negative and JobLease %v at least 1s", c.JobPollInterval, c.JobLease))
	}
	if c.CodeLength < 4 || c.CodeLength > 64 {
		errs = append(errs, fmt.Errorf("CodeLength %d is outside 4..64", c.CodeLength))
	}
	for name, d := range map[string]time.Duration{
		"LinkCacheTTL": c.LinkCacheTTL, "StockCacheTTL": c.StockCacheTTL,
		"NegativeCacheTTL": c.NegativeCacheTTL, "ExpireInterval": c.ExpireInterval,
		"TailInterval": c.TailInterval, "LedgerRetention": c.LedgerRetention,
		"LedgerTrimInterval": c.LedgerTrimInterval,
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

// ErrConfig wraps every reason New refuses a Config.
var ErrConfig = errors.New("origin: invalid config")

// validateClusterTokens: a token, or InternalInsecure said out loud, never
// both; every token long enough not to be guessed.
func (c *Config) validateClusterTokens() []error {
	var errs []error
	tokens := c.clusterTokens()
	modes := 0
	for _, on := range []bool{len(tokens) > 0, c.InternalInsecure, c.InternalLoopback} {
		if on {
			modes++
		}
	}
	switch {
	case modes == 0:
		errs = append(errs, ErrNoClusterToken)
	case modes > 1:
		errs = append(errs, errors.New("a cluster token, InternalInsecure and InternalLoopback exclude each other"))
	case c.ClusterToken == "" && len(c.ClusterTokens) > 0:
		errs = append(errs, errors.New("ClusterTokens needs ClusterToken (the token this origin sends)"))
	}
	for i, t := range tokens {
		if len(t) < MinClusterTokenLen {
			// The index, never the token, identifies it.
			errs = append(errs, fmt.Errorf("%w: token #%d", ErrClusterTokenTooShort, i+1))
		}
	}
	return errs
}

// clusterTokens are every token the internal API accepts.
func (c *Config) clusterTokens() []string {
	var out []string
	if c.ClusterToken != "" {
		out = append(out, c.ClusterToken)
	}
	for _, t := range c.ClusterTokens {
		if t != "" {
			out = append(out, t)
		}
	}
	return out
}
