package gossip

import (
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/shortstock/shortstock/internal/change"
	"github.com/shortstock/shortstock/internal/keys"
)

// labelPrefix namespaces the memberlist Label, so a pool of another
// memberlist application that happens to use a region name as its label is
// still rejected.
const labelPrefix = "shortstock/"

// minScaleNodes is the pool size below which retransmits stop shrinking;
// see Node.queue.
const minScaleNodes = 10

// Node is one member of a region's gossip pool. Its methods are safe for
// concurrent use.
type Node struct {
	cfg  Config
	log  *slog.Logger
	role Role

	ml      atomic.Pointer[memberlist.Memberlist] // set once Create returns
	keyring *memberlist.Keyring                   // nil when Insecure
	queue   *memberlist.TransmitLimitedQueue
	seen    *versionCache

	// enqueueMu makes "is it newer?", "queue it" and "hand it to the
	// delivery goroutine" one step, so two changes for a key arriving on
	// different memberlist goroutines (UDP loop, TCP streams) can neither
	// queue nor deliver the older one last.
	enqueueMu sync.Mutex
	deliverCh chan change.Change

	direct directQueue // changes the publisher sends straight to members

	alive atomic.Int32 // alive members, kept by the event delegate
	relay relayedMarks // origin watermarks an edge passes on
	stats counters

	failedMu sync.Mutex
	failed   map[string]failedMember // reconnect candidates by name

	collector *collector // registered on cfg.Metrics, or nil
	done      chan struct{}
	// gossipKick wakes gossipLoop when a change is queued (capacity 1).
	gossipKick chan struct{}
	peers      peers // the rounds' targets (rounds.go)
	wg         sync.WaitGroup
	left       atomic.Bool
	closed     atomic.Bool
	// sealer seals and opens direct packets (sealed.go); nil when
	// Insecure or without direct pushes. sealedBuf is the direct loop's.
	sealer    *directSealer
	sealedBuf []byte
	// recvStop ends receiveLoop once the transports are down.
	recvStop     chan struct{}
	recvStopOnce sync.Once
	// stopper drops packets from the moment Shutdown begins.
	stopper    *stoppingTransport
	shutdownMu sync.Mutex
	shutdown   bool
	closeOnce  sync.Once
	closeErr   error
}

// Member is one alive member of the pool.
type Member struct {
	Name string
	Addr string // host:port, what Join takes
	Role Role   // 0 when the member did not say
}

// New validates cfg, starts listening, joins cfg.Join (see Config.Join for
// what happens when no peer answers) and returns the running Node. It never
// panics on a bad Config: every problem is an error wrapping ErrConfig,
// ErrNoSecretKey or ErrInvalidKey.
func New(cfg Config) (*Node, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	base := cfg.Logger.With("region", cfg.Region, "node", cfg.NodeName)
	n := &Node{
		cfg:        cfg,
		log:        base.With("component", "gossip"),
		role:       RoleEdge,
		seen:       newVersionCache(cfg.SeenKeys),
		deliverCh:  make(chan change.Change, cfg.DeliveryQueueSize),
		failed:     make(map[string]failedMember),
		done:       make(chan struct{}),
		recvStop:   make(chan struct{}),
		direct:     directQueue{kick: make(chan struct{}, 1)},
		gossipKick: make(chan struct{}, 1),
	}
	if cfg.LocalWatermarks != nil {
		n.role = RoleOrigin
	}
	n.queue = &memberlist.TransmitLimitedQueue{
		// Each relay sends a change RetransmitMult*ceil(log10(NumNodes+1))
		// times. Counting small pools as 10 keeps that at
		// 2*RetransmitMult: push gossip misses a member with probability
		// about e^-(sends per relay), and memberlist's log scale alone
		// would give a 5-member pool 1*RetransmitMult. Not
		// ml.NumMembers: memberlist may call GetBroadcasts with its node
		// lock held; the event delegate's count needs no lock.
		NumNodes:       func() int { return max(minScaleNodes, int(n.alive.Load())) },
		RetransmitMult: cfg.RetransmitMult,
	}
	if len(cfg.SecretKeys) > 0 {
		kr, err := memberlist.NewKeyring(cfg.SecretKeys, cfg.SecretKeys[0])
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
		}
		n.keyring = kr
	}

	mlLog := newMemberlistLogger(base)
	nt, err := newNetTransport(&cfg, mlLog)
	if err != nil {
		return nil, err
	}
	var tr memberlist.NodeAwareTransport = nt
	if cfg.WrapTransport != nil {
		if tr = cfg.WrapTransport(nt); tr == nil {
			_ = nt.Shutdown()
			return nil, fmt.Errorf("%w: WrapTransport returned nil", ErrConfig)
		}
	}
	n.stopper = &stoppingTransport{NodeAwareTransport: tr}
	tr = n.stopper
	var sealedIn <-chan *memberlist.Packet
	var sealedOut chan *memberlist.Packet
	if n.keyring != nil && !cfg.NoDirectPush {
		if n.sealer, err = newDirectSealer(n.keyring, labelPrefix+cfg.Region); err != nil {
			_ = tr.Shutdown()
			return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
		}
		sealedIn, sealedOut = tr.PacketCh(), make(chan *memberlist.Packet)
		tr = &sealedReceiver{NodeAwareTransport: tr, ch: sealedOut}
	}
	port := nt.Port()
	ml, err := memberlist.Create(n.memberlistConfig(tr, port, mlLog))
	if err != nil {
		// Create does not shut down a transport it was given.
		_ = tr.Shutdown()
		return nil, fmt.Errorf("%w: memberlist: %w", ErrConfig, err)
	}
	n.ml.Store(ml)
	if sealedOut != nil {
		// Before anything can join: packets wait in the transport until
		// this loop takes them.
		n.wg.Add(1)
		go n.receiveLoop(sealedIn, sealedOut)
	}

	if cfg.Metrics != nil {
		c := newCollector(n)
		if err := cfg.Metrics.Register(c); err != nil {
			close(n.done)
			_ = ml.Shutdown()
			n.stopReceiving()
			n.wg.Wait()
			return nil, fmt.Errorf("%w: registering metrics: %w", ErrConfig, err)
		}
		n.collector = c
	}

	n.wg.Add(3)
	go n.deliverLoop()
	go n.rejoinLoop()
	go n.gossipLoop()
	if !cfg.NoDirectPush {
		n.wg.Add(1)
		go n.directLoop()
	}

	if len(cfg.Join) > 0 {
		if _, err := n.Join(cfg.Join); err != nil {
			n.log.Warn("gossip: initial join failed; retrying in the background", "peers", cfg.Join, "err", err)
		}
	}
	n.log.Info("gossip: node started", "addr", n.LocalAddr(), "role", n.role.String(),
		"encrypted", n.keyring != nil, "members", n.NumMembers())
	return n, nil
}

// memberlistConfig maps cfg onto memberlist's Config.
func (n *Node) memberlistConfig(tr memberlist.NodeAwareTransport, port int, l *log.Logger) *memberlist.Config {
	c := n.cfg
	mc := memberlist.DefaultLANConfig()
	mc.Name = c.NodeName
	mc.Transport = tr
	mc.Label = labelPrefix + c.Region
	mc.BindAddr = c.BindAddr
	mc.BindPort = port // memberlist uses it as the default port of Join addresses
	mc.AdvertiseAddr = c.AdvertiseAddr
	mc.AdvertisePort = port
	if c.AdvertisePort != 0 {
		mc.AdvertisePort = c.AdvertisePort
	}
	mc.Keyring = n.keyring
	// With a keyring, refuse plaintext in both directions (the defaults,
	// restated because the insecure-to-secure upgrade path they exist for
	// is exactly what we must not allow silently).
	mc.GossipVerifyIncoming = true
	mc.GossipVerifyOutgoing = true
	d := &delegate{n: n}
	mc.Delegate = d
	mc.Events = d
	mc.Logger = l
	// Our changes go out every GossipInterval from gossipLoop, only while
	// queued; memberlist's timer, which always runs, only needs to carry
	// its own membership messages.
	mc.GossipInterval = max(c.GossipInterval, memberGossipFloor)
	mc.GossipNodes = c.GossipNodes
	mc.ProbeInterval = c.ProbeInterval
	mc.ProbeTimeout = c.ProbeTimeout
	mc.SuspicionMult = c.SuspicionMult
	mc.SuspicionMaxTimeoutMult = c.SuspicionMaxTimeoutMult
	mc.PushPullInterval = c.PushPullInterval
	mc.GossipToTheDeadTime = c.GossipToTheDeadTime
	mc.TCPTimeout = c.TCPTimeout
	mc.DeadNodeReclaimTime = c.DeadNodeReclaimTime
	mc.UDPBufferSize = c.UDPBufferSize
	// Changes are small varint records that LZW barely shrinks, and
	// compressing every packet costs CPU on the path that sets the
	// invalidation delay. It does not change how many changes fit in a
	// packet (the budget is counted before compression).
	mc.EnableCompression = false
	return mc
}

// newNetTransport opens the UDP and TCP listeners. With port 0 the kernel
// picks a TCP port that may be taken for UDP; retry like memberlist does.
func newNetTransport(cfg *Config, l *log.Logger) (*packetTransport, error) {
	attempts := 1
	if cfg.BindPort == 0 {
		attempts = 10
	}
	var err error
	for range attempts {
		var t *packetTransport
		if t, err = newPacketTransport(cfg.BindAddr, cfg.BindPort, l); err == nil {
			return t, nil
		}
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, fmt.Errorf("%w: listening on %s: %w", ErrConfig,
		net.JoinHostPort(cfg.BindAddr, strconv.Itoa(cfg.BindPort)), err)
}

// Publish queues c for gossip to the whole region: for the direct push
// (unless NoDirectPush), whose loop then queues the gossip copy, so the
// copy, which lacks the pushed value, never reaches a member before the
// direct packet does. A change older than one
// this node already published or received for the key is superseded and
// silently skipped; an equal one is queued again, so an origin may
// re-announce. The publisher's own Handler is not called.
func (n *Node) Publish(c change.Change) error {
	if n.closed.Load() {
		return ErrClosed
	}
	if err := c.ValidateIn(keys.MustSpace(n.cfg.Partitions)); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidChange, err)
	}
	n.enqueueMu.Lock()
	defer n.enqueueMu.Unlock()
	if k, v := seenKey(c); n.seen.advance(k, v, true) {
		if n.cfg.NoDirectPush {
			n.queueLocked(c)
		} else {
			n.pushDirect(c) // the direct loop queues the gossip copy
		}
	}
	return nil
}

// accept handles one change received from a peer: if it is the newest seen
// for its key, relay it and hand it to the delivery goroutine, never
// blocking.
//
// Why relay: memberlist only spreads epidemically what every node re-queues
// (it does so for its own membership messages). A user broadcast queued on
// one node is sent RetransmitMult*ceil(log10(N+1)) times in total, to random
// members: with 30 members that is 8 sends, and most members would never
// get it. Re-queueing on first receipt makes every member a spreader, so a
// change reaches all N in O(log N) rounds and survives loss; the seen cache
// stops the echo, since a member relays each (key, version) once.
//
// A change the publisher sent straight to this member (relay false) is not
// relayed: the publisher sent it to every member at once, and its own
// gossip copy reaches the few that lost the packet. Relaying it too would
// make every write cost every member RetransmitMult sends for nothing.
func (n *Node) accept(c change.Change, relay bool) {
	n.enqueueMu.Lock()
	defer n.enqueueMu.Unlock()
	if k, v := seenKey(c); !n.seen.advance(k, v, false) {
		n.stats.duplicates.Add(1)
		return
	}
	if n.closed.Load() {
		return
	}
	if relay {
		n.queueLocked(c)
	}
	select {
	case n.deliverCh <- c:
	default:
		n.stats.queueFull.Add(1)
	}
}

// queueLocked queues c's broadcast and keeps the queue bounded. Caller
// holds enqueueMu.
//
// The gossip copy goes without c's pushed value: it repairs a lost
// direct packet (or, with NoDirectPush, spreads the change), and a member
// it reaches first simply refetches the key, as without values. A value
// is up to 512 bytes against ~50 for the rest, and every change is sent
// 2*RetransmitMult times: carrying it packed a handful of changes into a
// packet instead of ~25, multiplying the packets every member decrypts.
func (n *Node) queueLocked(c change.Change) {
	c.Value = ""
	n.queue.QueueBroadcast(newChangeBroadcast(c))
	n.kickGossip()
	if before := n.queue.NumQueued(); before > n.cfg.MaxQueuedBroadcasts {
		// Prune drops the most-transmitted entries first: those are the
		// ones most members already have.
		n.queue.Prune(n.cfg.MaxQueuedBroadcasts)
		n.stats.pruned.Add(uint64(before - n.queue.NumQueued()))
	}
}

// deliverLoop is the one goroutine that calls the Handler.
func (n *Node) deliverLoop() {
	defer n.wg.Done()
	for {
		select {
		case <-n.done:
			return
		case c := <-n.deliverCh:
			if n.cfg.Handler != nil {
				n.cfg.Handler.HandleChange(c)
			}
			n.stats.delivered.Add(1)
		}
	}
}

// Join contacts the given peers ("host:port") and merges their view of the
// pool. It returns how many answered, and an error wrapping ErrJoin if
// none did.
func (n *Node) Join(peers []string) (int, error) {
	ml := n.ml.Load()
	if ml == nil || n.closed.Load() {
		return 0, ErrClosed
	}
	k, err := ml.Join(peers)
	if err != nil {
		return k, fmt.Errorf("%w: %w", ErrJoin, err)
	}
	return k, nil
}

// Leave tells the pool this node is going away and waits up to timeout for
// that to spread, so peers drop it at once instead of suspecting it. The
// node still runs until Shutdown.
func (n *Node) Leave(timeout time.Duration) error {
	ml := n.ml.Load()
	if ml == nil || n.closed.Load() {
		return ErrClosed
	}
	n.left.Store(true)
	if err := ml.Leave(timeout); err != nil {
		return fmt.Errorf("gossip: leave: %w", err)
	}
	return nil
}

// Shutdown stops the node without telling the pool (peers will detect the
// failure): it stops memberlist and the transport, then waits for the
// node's goroutines. It is idempotent.
func (n *Node) Shutdown() error {
	n.shutdownMu.Lock()
	defer n.shutdownMu.Unlock()
	if n.shutdown {
		return nil
	}
	n.shutdown = true
	n.closed.Store(true)
	close(n.done)
	var err error
	if n.stopper != nil {
		n.stopper.stop() // no packet after this point reaches a closing socket
	}
	if ml := n.ml.Load(); ml != nil {
		err = ml.Shutdown()
	}
	n.stopReceiving()
	n.wg.Wait()
	if n.collector != nil {
		n.cfg.Metrics.Unregister(n.collector)
	}
	return err
}

// Close leaves the pool (waiting up to Config.LeaveTimeout; a leave that
// times out is logged, not returned) and shuts the node down. It is
// idempotent and returns the first call's result.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		var errs []error
		if !n.closed.Load() {
			// A leave that times out is not a failure of Close: peers
			// then find the node dead by probing instead of hearing it go.
			if err := n.Leave(n.cfg.LeaveTimeout); err != nil && !errors.Is(err, ErrClosed) {
				n.log.Warn("leaving gossip timed out; peers will detect the departure by probing", "err", err)
			}
		}
		if err := n.Shutdown(); err != nil {
			errs = append(errs, err)
		}
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}

// Members returns the alive members, this node included, sorted by name.
func (n *Node) Members() []Member {
	ml := n.ml.Load()
	if ml == nil {
		return nil
	}
	// Copies of the peers, not ml.Members(): see peers (rounds.go).
	nodes := n.allPeers(nil)
	out := make([]Member, 0, len(nodes)+1)
	out = append(out, Member{Name: n.cfg.NodeName, Addr: n.LocalAddr(), Role: n.role})
	for i := range nodes {
		m := &nodes[i]
		out = append(out, Member{Name: m.Name, Addr: m.Address(), Role: decodeMeta(m.Meta)})
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// NumMembers returns the number of alive members, this node included.
func (n *Node) NumMembers() int {
	ml := n.ml.Load()
	if ml == nil {
		return 0
	}
	return ml.NumMembers()
}

// LocalAddr returns the address peers reach this node on ("ip:port"), with
// the real port when BindPort was 0. It is what other nodes' Join takes.
func (n *Node) LocalAddr() string {
	ml := n.ml.Load()
	if ml == nil {
		return ""
	}
	return ml.LocalNode().Address()
}

// Name returns the node's name.
func (n *Node) Name() string { return n.cfg.NodeName }

// Role returns RoleOrigin when the node has LocalWatermarks, else RoleEdge.
func (n *Node) Role() Role { return n.role }

// relayTTL is how long an edge relays origin marks that stopped
// advancing: ten push/pull rounds.
func (n *Node) relayTTL() time.Duration { return 10 * n.cfg.PushPullInterval }

// Stats returns the node's counters.
func (n *Node) Stats() Stats {
	return Stats{
		Members:                n.NumMembers(),
		QueueDepth:             n.queue.NumQueued(),
		Sent:                   n.stats.sent.Load(),
		Received:               n.stats.received.Load(),
		Delivered:              n.stats.delivered.Load(),
		Duplicates:             n.stats.duplicates.Load(),
		DroppedMalformed:       n.stats.malformed.Load(),
		DroppedQueueFull:       n.stats.queueFull.Load(),
		Pruned:                 n.stats.pruned.Load(),
		BadState:               n.stats.badState.Load(),
		DirectSent:             n.stats.directSent.Load(),
		DirectFailed:           n.stats.directFailed.Load(),
		DroppedUnauthenticated: n.stats.unauthenticated.Load(),
	}
}

var _ prometheus.Collector = (*collector)(nil)

// stopReceiving ends receiveLoop (sealed.go): after memberlist's Shutdown,
// which shut the transports down, or when New fails after starting it.
func (n *Node) stopReceiving() {
	n.recvStopOnce.Do(func() { close(n.recvStop) })
}
