package gossip

import (
	"fmt"
	"log/slog"
	"net"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/memberlist"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shortstock/shortstock/internal/keys"
)

// Config configures a Node. Start from DefaultLANConfig (a real region) or
// DefaultLocalConfig (tests and the one-process demo) and change what you
// need. A zero duration or count means "the DefaultLANConfig value", so a
// partly filled Config still works; the default quoted on each field is the
// DefaultLANConfig one, with the DefaultLocalConfig one after it where they
// differ.
type Config struct {
	// Partitions is the partition count of the store (see keys.Space):
	// watermarks (push/pull state) of another length are ignored and counted
	// as malformed, and published or received changes must name their key's
	// partition at this count. Default keys.DefaultPartitions.
	Partitions int
	// NodeName is this member's name; it must be unique within the region.
	// Required (1-255 bytes of UTF-8). Default: the presets' argument.
	NodeName string

	// Region names the pool. It becomes memberlist's Label, which prefixes
	// every packet and stream and is authenticated data of the encryption,
	// so a member of another region (even one sharing the secret key) can
	// neither join nor have its packets accepted. Required:
	// [A-Za-z0-9._-]{1,64}. Default: none.
	Region string

	// BindAddr is the IP address to listen on for UDP and TCP gossip. It
	// must be an IP literal: a host name would make the listener bind every
	// interface. Default "0.0.0.0"; local "127.0.0.1".
	BindAddr string
	// BindPort is the UDP and TCP port. 0 lets the kernel pick a free port;
	// Node.LocalAddr reports it. Default 7946; local 0.
	BindPort int

	// AdvertiseAddr is the IP address other members reach this node on,
	// for NAT or a 0.0.0.0 bind. Default "": the bound address, or a private
	// address of this host when bound to 0.0.0.0.
	AdvertiseAddr string
	// AdvertisePort is the port advertised with AdvertiseAddr. Default 0:
	// the bound port.
	AdvertisePort int

	// SecretKeys are the AES keys (16, 24 or 32 bytes each) of memberlist's
	// keyring. The first is the primary: it encrypts everything sent; all
	// of them are tried to decrypt what arrives, which is what lets a key
	// be rotated without a flag day (see Node.InstallKey). Required unless
	// Insecure is set. Default: none.
	SecretKeys [][]byte
	// Insecure runs gossip without encryption. It must be set explicitly
	// when SecretKeys is empty, and must not be set with keys. Default
	// false.
	Insecure bool

	// Join lists peers ("host:port") to join at start. New tries them once
	// and does not fail if none answers: an edge may start before its
	// origin, so the node keeps retrying every RejoinInterval while it is
	// alone. Default: none (the node starts a new pool).
	Join []string
	// RejoinInterval is how often a node that is alone retries Join, and
	// how often it tries to reconnect to one member it saw fail (memberlist
	// itself never contacts a dead member again after GossipToTheDeadTime,
	// so the two sides of a long partition would otherwise stay split).
	// Default 1s; local 200ms.
	RejoinInterval time.Duration
	// ReconnectTimeout is how long a failed member stays a reconnect
	// candidate. Default 30m; local 1m.
	ReconnectTimeout time.Duration

	// Handler receives every change this node sees for the first time
	// (a newer version than any it saw for that key), on one goroutine the
	// Node owns, in arrival order. Nil drops them (an origin needs no
	// handler; it still relays). Default nil.
	Handler Handler
	// DeliveryQueueSize bounds the changes waiting for Handler. When it is
	// full, new changes are dropped and counted, never blocking memberlist's
	// packet loop; anti-entropy repairs the loss. Default 4096.
	DeliveryQueueSize int
	// MaxQueuedBroadcasts bounds the outgoing broadcast queue (memberlist's
	// queue is otherwise unbounded); beyond it the most-transmitted entries
	// are pruned. Default 100000.
	MaxQueuedBroadcasts int
	// SeenKeys bounds the per-key latest-version memory used to drop
	// duplicates and to decide what to relay. It keeps between SeenKeys and
	// 2*SeenKeys keys; it should exceed MaxQueuedBroadcasts so a key is not
	// forgotten while its broadcast is still queued. Default 131072.
	SeenKeys int

	// LocalWatermarks returns this node's per-partition change-log heads
	// (len Partitions), sent to peers at every push/pull. Set it on
	// origins; nil marks the node an edge, which produces none but relays
	// the freshest origin watermarks it has received, so they spread in
	// O(log N) push/pull rounds rather than waiting for each edge to pair
	// with the origin. It is called on memberlist's goroutines and must be
	// fast and non-blocking. Default nil.
	LocalWatermarks func() []uint64
	// OnRemoteWatermarks receives the watermarks of the origin named from,
	// whenever a push/pull brings some (from the origin or relayed by an
	// edge; relayed ones may be behind, never ahead), so a member can
	// detect changes it missed: a head above the last seq it saw for a
	// partition. It is called on memberlist's goroutines and must not
	// block; w is a fresh slice the callee may keep. Default nil.
	OnRemoteWatermarks func(from string, w []uint64)

	// GossipInterval is how often queued broadcasts are sent to
	// GossipNodes random members. Short, because invalidation delay is
	// mostly a few of these rounds; an idle node sends nothing. Default
	// 25ms; local 20ms.
	GossipInterval time.Duration
	// GossipNodes is the fan-out of each gossip round. Default 4.
	GossipNodes int
	// RetransmitMult: every node that relays a change sends it
	// RetransmitMult*ceil(log10(max(members,10)+1)) times, to random
	// members; 2*RetransmitMult below 100 members. Push gossip leaves a
	// member uninformed with probability about e^-(sends per relay), so 14
	// sends make a miss ~1e-6 per member and change (the watermarks and
	// change log repair the rest). Default 7.
	RetransmitMult int
	// ProbeInterval is the failure detector's probe period. Default 1s;
	// local 400ms.
	ProbeInterval time.Duration
	// ProbeTimeout is how long a probe waits for an ack. Default 500ms;
	// local 200ms.
	ProbeTimeout time.Duration
	// SuspicionMult scales how long a suspect member has to refute before
	// it is declared dead. Default 4; local 3.
	SuspicionMult int
	// SuspicionMaxTimeoutMult caps the suspicion timeout when few members
	// confirm. Default 6; local 3.
	SuspicionMaxTimeoutMult int
	// PushPullInterval is the period of the full TCP state exchange, which
	// also carries the watermarks. Default 5s; local 1s.
	PushPullInterval time.Duration
	// GossipToTheDeadTime is how long gossip still goes to a dead member,
	// giving it a chance to refute. Default 30s; local 5s.
	GossipToTheDeadTime time.Duration
	// TCPTimeout bounds dials and stream I/O (join, push/pull). Default 3s;
	// local 1s.
	TCPTimeout time.Duration
	// DeadNodeReclaimTime lets a restarted member reuse its name from a
	// new address after this long. Default 30s; local 1s.
	DeadNodeReclaimTime time.Duration
	// LeaveTimeout is how long Close waits for the leave message to
	// spread. Default 2s; local 500ms.
	LeaveTimeout time.Duration
	// NoDirectPush turns off the publisher's direct push. By default a
	// node that Publishes a change also sends it at once, in one packet
	// with whatever else was published meanwhile, straight to every alive
	// member, which applies it without relaying it; the gossip copy queued
	// as well only repairs a lost packet. That makes a write reach every
	// member in one hop (no gossip rounds to wait for) and costs each
	// member one packet per batch instead of RetransmitMult relays per
	// change. With NoDirectPush, changes spread by push gossip alone.
	// Default false.
	NoDirectPush bool
	// DirectPushInterval paces the direct push: a change published after
	// a quiet spell is sent at once, later ones wait until this long after
	// the previous send and go together, packed into as few packets as
	// fit. It bounds the packets every member receives per publisher to
	// one per interval (per UDPBufferSize of changes), at the cost of at
	// most this much delay for a change that follows another closely.
	// Default 5ms; negative: no pacing (every batch the loop finds).
	DirectPushInterval time.Duration
	// UDPBufferSize is the packet budget in bytes; several changes are
	// packed into each packet up to it. Default 1400 (fits a 1500 MTU).
	UDPBufferSize int

	// Logger receives the node's logs and memberlist's own, at matching
	// levels. Default slog.Default().
	Logger *slog.Logger
	// Metrics, when not nil, registers the node's collector (constant
	// labels region and node, so several nodes can share a registry; New
	// fails if one with the same region and name is registered). Close
	// unregisters it. Default nil.
	Metrics prometheus.Registerer
	// WrapTransport, when not nil, wraps the network transport New
	// creates, e.g. with NewFaultTransport for fault injection. It must
	// return a transport that delegates to the one given. Default nil.
	WrapTransport func(memberlist.NodeAwareTransport) memberlist.NodeAwareTransport
}

// DefaultLANConfig returns the configuration for one region on a LAN:
// encrypted (SecretKeys must still be filled in), port 7946, and timings
// tuned for fast spread, so that 30 members on one machine see an
// invalidation within a few gossip rounds (~100 ms).
func DefaultLANConfig(name string) Config {
	return Config{
		NodeName:                name,
		BindAddr:                "0.0.0.0",
		BindPort:                7946,
		RejoinInterval:          time.Second,
		ReconnectTimeout:        30 * time.Minute,
		DeliveryQueueSize:       4096,
		MaxQueuedBroadcasts:     100_000,
		SeenKeys:                1 << 17,
		GossipInterval:          25 * time.Millisecond,
		GossipNodes:             4,
		RetransmitMult:          7,
		ProbeInterval:           time.Second,
		ProbeTimeout:            500 * time.Millisecond,
		SuspicionMult:           4,
		SuspicionMaxTimeoutMult: 6,
		PushPullInterval:        5 * time.Second,
		GossipToTheDeadTime:     30 * time.Second,
		TCPTimeout:              3 * time.Second,
		DeadNodeReclaimTime:     30 * time.Second,
		LeaveTimeout:            2 * time.Second,
		UDPBufferSize:           1400,
		DirectPushInterval:      5 * time.Millisecond,
	}
}

// DefaultLocalConfig returns DefaultLANConfig tuned for loopback: bound to
// 127.0.0.1 on a kernel-chosen port, with faster failure detection, push/pull
// and rejoin so tests that partition and heal finish in seconds.
func DefaultLocalConfig(name string) Config {
	c := DefaultLANConfig(name)
	c.BindAddr = "127.0.0.1"
	c.BindPort = 0
	c.RejoinInterval = 200 * time.Millisecond
	c.ReconnectTimeout = time.Minute
	c.GossipInterval = 20 * time.Millisecond
	c.ProbeInterval = 400 * time.Millisecond
	c.ProbeTimeout = 200 * time.Millisecond
	c.SuspicionMult = 3
	c.SuspicionMaxTimeoutMult = 3
	c.PushPullInterval = time.Second
	c.GossipToTheDeadTime = 5 * time.Second
	c.TCPTimeout = time.Second
	c.DeadNodeReclaimTime = time.Second
	c.LeaveTimeout = 500 * time.Millisecond
	return c
}

// withDefaults returns a copy of c with zero values filled from
// DefaultLANConfig and the key slices copied, so later changes to the
// caller's Config or key bytes cannot reach the running node.
func (c Config) withDefaults() Config {
	d := DefaultLANConfig(c.NodeName)
	if c.BindAddr == "" {
		c.BindAddr = d.BindAddr
	}
	setDur := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	setInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	setDur(&c.RejoinInterval, d.RejoinInterval)
	setDur(&c.ReconnectTimeout, d.ReconnectTimeout)
	setInt(&c.DeliveryQueueSize, d.DeliveryQueueSize)
	setInt(&c.MaxQueuedBroadcasts, d.MaxQueuedBroadcasts)
	setInt(&c.SeenKeys, d.SeenKeys)
	setDur(&c.GossipInterval, d.GossipInterval)
	setInt(&c.GossipNodes, d.GossipNodes)
	setInt(&c.RetransmitMult, d.RetransmitMult)
	setDur(&c.ProbeInterval, d.ProbeInterval)
	setDur(&c.ProbeTimeout, d.ProbeTimeout)
	setInt(&c.SuspicionMult, d.SuspicionMult)
	setInt(&c.SuspicionMaxTimeoutMult, d.SuspicionMaxTimeoutMult)
	setDur(&c.PushPullInterval, d.PushPullInterval)
	setDur(&c.GossipToTheDeadTime, d.GossipToTheDeadTime)
	setDur(&c.TCPTimeout, d.TCPTimeout)
	setDur(&c.DeadNodeReclaimTime, d.DeadNodeReclaimTime)
	setDur(&c.LeaveTimeout, d.LeaveTimeout)
	setInt(&c.UDPBufferSize, d.UDPBufferSize)
	setDur(&c.DirectPushInterval, d.DirectPushInterval)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Partitions == 0 {
		c.Partitions = keys.DefaultPartitions
	}
	if c.SecretKeys != nil {
		ks := make([][]byte, len(c.SecretKeys))
		for i, k := range c.SecretKeys {
			ks[i] = append([]byte(nil), k...)
		}
		c.SecretKeys = ks
	}
	c.Join = append([]string(nil), c.Join...)
	return c
}

// validate reports the first problem with a defaulted Config, wrapped in
// ErrConfig (or ErrNoSecretKey / ErrInvalidKey).
func (c *Config) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...)
	}
	if c.NodeName == "" || len(c.NodeName) > maxNameLen || !utf8.ValidString(c.NodeName) {
		return bad("NodeName must be 1-%d bytes of UTF-8, got %q", maxNameLen, c.NodeName)
	}
	if err := keys.ValidPartitions(c.Partitions); err != nil {
		return bad("Partitions: %v", err)
	}
	if !validRegion(c.Region) {
		return bad("Region must match [A-Za-z0-9._-]{1,64}, got %q", c.Region)
	}
	if net.ParseIP(c.BindAddr) == nil {
		return bad("BindAddr must be an IP address, got %q", c.BindAddr)
	}
	if c.AdvertiseAddr != "" && net.ParseIP(c.AdvertiseAddr) == nil {
		return bad("AdvertiseAddr must be an IP address, got %q", c.AdvertiseAddr)
	}
	if c.BindPort < 0 || c.BindPort > 65535 || c.AdvertisePort < 0 || c.AdvertisePort > 65535 {
		return bad("ports must be in 0-65535, got bind %d advertise %d", c.BindPort, c.AdvertisePort)
	}
	if c.Insecure && len(c.SecretKeys) > 0 {
		return bad("Insecure is set together with SecretKeys; choose one")
	}
	if !c.Insecure && len(c.SecretKeys) == 0 {
		return ErrNoSecretKey
	}
	for i, k := range c.SecretKeys {
		if err := memberlist.ValidateKey(k); err != nil {
			return fmt.Errorf("%w: SecretKeys[%d] is %d bytes, want 16, 24 or 32", ErrInvalidKey, i, len(k))
		}
	}
	for _, j := range c.Join {
		if j == "" {
			return bad("Join has an empty address")
		}
	}
	for name, d := range map[string]time.Duration{
		"RejoinInterval": c.RejoinInterval, "ReconnectTimeout": c.ReconnectTimeout,
		"GossipInterval": c.GossipInterval, "ProbeInterval": c.ProbeInterval,
		"ProbeTimeout": c.ProbeTimeout, "PushPullInterval": c.PushPullInterval,
		"GossipToTheDeadTime": c.GossipToTheDeadTime, "TCPTimeout": c.TCPTimeout,
		"DeadNodeReclaimTime": c.DeadNodeReclaimTime, "LeaveTimeout": c.LeaveTimeout,
	} {
		if d < 0 {
			return bad("%s must not be negative, got %v", name, d)
		}
	}
	for name, n := range map[string]int{
		"DeliveryQueueSize": c.DeliveryQueueSize, "MaxQueuedBroadcasts": c.MaxQueuedBroadcasts,
		"SeenKeys": c.SeenKeys, "GossipNodes": c.GossipNodes, "RetransmitMult": c.RetransmitMult,
		"SuspicionMult": c.SuspicionMult, "SuspicionMaxTimeoutMult": c.SuspicionMaxTimeoutMult,
	} {
		if n < 0 {
			return bad("%s must not be negative, got %d", name, n)
		}
	}
	if c.DirectPushInterval > time.Second {
		return bad("DirectPushInterval must be at most 1s, got %v", c.DirectPushInterval)
	}
	if c.ProbeTimeout >= c.ProbeInterval {
		return bad("ProbeTimeout (%v) must be shorter than ProbeInterval (%v)", c.ProbeTimeout, c.ProbeInterval)
	}
	// Below this a packet cannot hold one change plus memberlist's
	// framing, label and encryption overhead.
	if c.UDPBufferSize < 512 || c.UDPBufferSize > 65000 {
		return bad("UDPBufferSize must be in 512-65000, got %d", c.UDPBufferSize)
	}
	return nil
}

// maxNameLen bounds NodeName: the push/pull state record carries it behind
// a one-byte length.
const maxNameLen = 255

func validRegion(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}
