package redisstore

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/shortstock/shortstock/internal/clock"
	"github.com/shortstock/shortstock/internal/keys"
	"github.com/shortstock/shortstock/origin/store"
)

// Config configures a Store. Start from DefaultConfig; a zero field takes
// the default given in its comment, a negative one is refused.
type Config struct {
	// Partitions is the partition count of a new store: a power of two in
	// 1..keys.MaxPartitions, default keys.DefaultPartitions. New records it
	// in the "<prefix>:meta" hash (HSETNX, so origins starting together
	// agree) and fails with store.ErrPartitionMismatch when the store
	// records another count. Data from before the count was recorded has
	// keys.LegacyPartitions, and is recorded so.
	Partitions int
	// Addrs are Redis addresses (host:port). One address is a standalone
	// server; several are Redis Cluster seeds (any nodes of the cluster).
	// Required.
	Addrs []string
	// ForceCluster uses the cluster client even with one address (a
	// cluster reached through one seed). Default false.
	ForceCluster bool
	// Username and Password authenticate (ACL user, or requirepass with an
	// empty Username). Default none.
	Username string
	Password string
	// TLS, when set, connects with TLS (Redis's tls-port; rediss:// on
	// the command line) to every node and the replica: RootCAs for a
	// private CA, Certificates for a client certificate (Redis's
	// tls-auth-clients). Default nil: plain TCP.
	TLS *tls.Config
	// DialTimeout bounds connecting. Default 500ms: on a LAN anything slower
	// is down, and callers should get ErrUnavailable quickly.
	DialTimeout time.Duration
	// ReadTimeout bounds waiting for a reply. Default 1s.
	ReadTimeout time.Duration
	// WriteTimeout bounds sending a command. Default 1s.
	WriteTimeout time.Duration
	// PoolSize is the number of connections per Redis node. Default 0:
	// go-redis' default, 10 per GOMAXPROCS.
	PoolSize int
	// ReadFromReplicas sends reads (GetLink, GetStock, Changes, Heads; not
	// GetReservation, which reads the master) to replicas: in a cluster through ReadOnly and
	// RouteByLatency, standalone to ReplicaAddr. Replica reads can lag
	// behind writes. Default false.
	ReadFromReplicas bool
	// ReplicaAddr is a standalone server's replica used for reads when
	// ReadFromReplicas is set; it is required then, and refused with a
	// cluster (whose replicas are found from the cluster itself).
	ReplicaAddr string
	// ChangeStreamMaxLen is the approximate length each partition's change
	// stream is trimmed to (XADD MAXLEN ~). An edge that falls further
	// behind sees the gap and drops the partition. Default 10000.
	ChangeStreamMaxLen int64
	// ChangeStreamMaxAge is how long a change is kept (TrimChanges, run by
	// the origin every LedgerTrimInterval); the newest of each partition
	// always stays. The length cap alone keeps up to ChangeStreamMaxLen
	// changes of every partition however old, which at 1024 partitions is
	// room for ten million. Default 24h, as the embedded store's.
	ChangeStreamMaxAge time.Duration
	// IdempotencyTTL is how long a reservation's idempotency key is
	// remembered. Default 24h.
	IdempotencyTTL time.Duration
	// ReservationRetention is how long a committed, released or expired
	// reservation stays readable. It must be at least IdempotencyTTL, so a
	// replay can always return the reservation. Default 7 days.
	ReservationRetention time.Duration
	// KeyPrefix starts every key (before the partition hash tag), so
	// several deployments can share one Redis. Default "ss"; no braces or
	// whitespace.
	KeyPrefix string
	// WaitReplicas is how many replicas must hold a stock or reservation
	// write before it is acknowledged: the write script is followed by
	// WAIT WaitReplicas WaitTimeout on the same connection, and a WAIT
	// that times out makes the call fail with store.ErrOutcomeUnknown (the
	// write was applied on the master and may be lost in a failover; a
	// retry with the same idempotency key is safe). Default 0: automatic,
	// 1 when New finds a master with a connected replica (a cluster with
	// replicas, a standalone primary with one), none otherwise. Links and
	// clicks never wait.
	WaitReplicas int
	// WaitDisabled turns WAIT off even when replicas exist: a write
	// acknowledged just before its master dies can then be lost in the
	// failover. Default false.
	WaitDisabled bool
	// WaitTimeout bounds each WAIT. It must be below ReadTimeout (the WAIT
	// is pipelined behind the script). Default 500ms.
	WaitTimeout time.Duration
	// UnsafeConfig says what New does when a Redis node's persistence or
	// eviction settings cannot keep acknowledged writes (see
	// CheckServerConfig): UnsafeRefuse (default) fails with
	// ErrUnsafeServerConfig, UnsafeWarn logs a warning and goes on.
	UnsafeConfig string
	// Logger receives the store's warnings (unsafe settings, epoch
	// changes). Default slog.Default().
	Logger *slog.Logger
	// Clock stamps change records (AtUnixMs) for writes that carry no time
	// of their own. Default clock.Real{}.
	Clock clock.Clock
}

// Defaults of Config.
const (
	DefaultDialTimeout          = 500 * time.Millisecond
	DefaultReadTimeout          = time.Second
	DefaultWriteTimeout         = time.Second
	DefaultChangeStreamMaxLen   = 10000
	DefaultChangeStreamMaxAge   = 24 * time.Hour
	DefaultIdempotencyTTL       = 24 * time.Hour
	DefaultReservationRetention = 7 * 24 * time.Hour
	DefaultKeyPrefix            = "ss"
	DefaultWaitTimeout          = 500 * time.Millisecond
)

// UnsafeConfig values.
const (
	UnsafeRefuse = "refuse"
	UnsafeWarn   = "warn"
)

// DefaultConfig returns a Config for addrs with every default filled in.
func DefaultConfig(addrs []string) Config {
	return Config{
		Addrs:                append([]string(nil), addrs...),
		Partitions:           keys.DefaultPartitions,
		DialTimeout:          DefaultDialTimeout,
		ReadTimeout:          DefaultReadTimeout,
		WriteTimeout:         DefaultWriteTimeout,
		ChangeStreamMaxLen:   DefaultChangeStreamMaxLen,
		ChangeStreamMaxAge:   DefaultChangeStreamMaxAge,
		IdempotencyTTL:       DefaultIdempotencyTTL,
		ReservationRetention: DefaultReservationRetention,
		KeyPrefix:            DefaultKeyPrefix,
		WaitTimeout:          DefaultWaitTimeout,
		UnsafeConfig:         UnsafeRefuse,
		Logger:               slog.Default(),
		Clock:                clock.Real{},
	}
}

// cluster reports whether the config talks to a Redis Cluster.
func (c *Config) cluster() bool { return c.ForceCluster || len(c.Addrs) > 1 }

// normalize fills zero fields with defaults and checks the rest; every
// error wraps store.ErrConfig.
func (c Config) normalize() (Config, error) {
	d := DefaultConfig(nil)
	if c.Partitions == 0 {
		c.Partitions = d.Partitions
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = d.DialTimeout
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = d.ReadTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = d.WriteTimeout
	}
	if c.ChangeStreamMaxAge == 0 {
		c.ChangeStreamMaxAge = d.ChangeStreamMaxAge
	}
	if c.ChangeStreamMaxLen == 0 {
		c.ChangeStreamMaxLen = d.ChangeStreamMaxLen
	}
	if c.IdempotencyTTL == 0 {
		c.IdempotencyTTL = d.IdempotencyTTL
	}
	if c.ReservationRetention == 0 {
		c.ReservationRetention = max(d.ReservationRetention, c.IdempotencyTTL)
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = d.KeyPrefix
	}
	if c.Clock == nil {
		c.Clock = d.Clock
	}
	if c.WaitTimeout == 0 {
		c.WaitTimeout = d.WaitTimeout
	}
	if c.UnsafeConfig == "" {
		c.UnsafeConfig = d.UnsafeConfig
	}
	if c.Logger == nil {
		c.Logger = d.Logger
	}
	c.Addrs = append([]string(nil), c.Addrs...)

	var errs []error
	if len(c.Addrs) == 0 {
		//lint:ignore ST1005 the message starts with the Config field it names
		errs = append(errs, errors.New("Addrs: at least one Redis address is required"))
	}
	for _, a := range c.Addrs {
		if err := checkAddr(a); err != nil {
			//lint:ignore ST1005 the message starts with the Config field it names
			errs = append(errs, fmt.Errorf("Addrs: %w", err))
		}
	}
	for name, v := range map[string]time.Duration{
		"DialTimeout": c.DialTimeout, "ReadTimeout": c.ReadTimeout, "WriteTimeout": c.WriteTimeout,
		"IdempotencyTTL": c.IdempotencyTTL, "ReservationRetention": c.ReservationRetention,
		"WaitTimeout": c.WaitTimeout,
	} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative", name))
		}
	}
	if c.IdempotencyTTL > 0 && c.IdempotencyTTL < time.Millisecond {
		errs = append(errs, errors.New("IdempotencyTTL must be at least 1ms"))
	}
	if c.ReservationRetention < c.IdempotencyTTL {
		errs = append(errs, fmt.Errorf("ReservationRetention (%v) must be at least IdempotencyTTL (%v)", c.ReservationRetention, c.IdempotencyTTL))
	}
	if err := keys.ValidPartitions(c.Partitions); err != nil {
		errs = append(errs, err)
	}
	if c.WaitReplicas < 0 {
		errs = append(errs, errors.New("WaitReplicas must not be negative (WaitDisabled turns WAIT off)"))
	}
	if c.WaitTimeout > 0 && c.WaitTimeout < time.Millisecond {
		errs = append(errs, errors.New("WaitTimeout must be at least 1ms (WAIT counts milliseconds)"))
	}
	if c.WaitTimeout >= c.ReadTimeout && c.ReadTimeout > 0 {
		errs = append(errs, fmt.Errorf("WaitTimeout (%v) must be below ReadTimeout (%v): the reply of a WAIT comes after the wait", c.WaitTimeout, c.ReadTimeout))
	}
	if c.UnsafeConfig != UnsafeRefuse && c.UnsafeConfig != UnsafeWarn {
		errs = append(errs, fmt.Errorf("UnsafeConfig %q must be %q or %q", c.UnsafeConfig, UnsafeRefuse, UnsafeWarn))
	}
	if c.PoolSize < 0 {
		errs = append(errs, errors.New("PoolSize must not be negative"))
	}
	if c.ChangeStreamMaxLen < 0 {
		errs = append(errs, errors.New("ChangeStreamMaxLen must not be negative"))
	} else if c.ChangeStreamMaxLen < 100 {
		errs = append(errs, fmt.Errorf("ChangeStreamMaxLen %d is below 100: edges would lose changes to trimming all the time", c.ChangeStreamMaxLen))
	}
	if c.ChangeStreamMaxAge < time.Second {
		errs = append(errs, fmt.Errorf("ChangeStreamMaxAge %v is below 1s: edges would lose changes to trimming all the time", c.ChangeStreamMaxAge))
	}
	if strings.ContainsAny(c.KeyPrefix, "{} \t\r\n") || len(c.KeyPrefix) > 64 {
		errs = append(errs, fmt.Errorf("KeyPrefix %q must be at most 64 characters without braces or whitespace (braces would break the partition hash tag)", c.KeyPrefix))
	}
	switch {
	case c.ReplicaAddr != "" && c.cluster():
		errs = append(errs, errors.New("ReplicaAddr is for a standalone server; a cluster finds its replicas itself"))
	case c.ReplicaAddr != "" && !c.ReadFromReplicas:
		errs = append(errs, errors.New("ReplicaAddr is set but ReadFromReplicas is not"))
	case c.ReadFromReplicas && !c.cluster() && c.ReplicaAddr == "":
		errs = append(errs, errors.New("ReadFromReplicas on a standalone server needs ReplicaAddr"))
	case c.ReplicaAddr != "":
		if err := checkAddr(c.ReplicaAddr); err != nil {
			errs = append(errs, fmt.Errorf("ReplicaAddr: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("%w: redisstore: %w", store.ErrConfig, err)
	}
	return c, nil
}

func checkAddr(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", a, err)
	}
	if host == "" || port == "" {
		return fmt.Errorf("%q needs a host and a port", a)
	}
	return nil
}
