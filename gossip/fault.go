package gossip

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// FaultTransport wraps a memberlist transport to inject faults at run time:
// delay (with jitter) on outgoing packets and dials, random loss of
// outgoing packets (UDP only; streams are TCP and either work or fail), and
// partitions that drop everything to and from given addresses. Use it
// through Config.WrapTransport:
//
//	var ft *gossip.FaultTransport
//	cfg.WrapTransport = func(t memberlist.NodeAwareTransport) memberlist.NodeAwareTransport {
//		ft = gossip.NewFaultTransport(t, seed)
//		return ft
//	}
//
// A partition is matched on the peer's gossip address ("ip:port"). Inbound
// packets carry it, but an inbound TCP stream comes from the dialer's
// ephemeral port, so for a clean cut partition both sides (each node's
// FaultTransport lists the other); outbound dials to a partitioned address
// fail at once.
//
// Loss decisions come from a seeded generator, so a test run is
// reproducible as far as the scheduler allows. It is safe for concurrent
// use.
type FaultTransport struct {
	inner    memberlist.NodeAwareTransport
	packetCh chan *memberlist.Packet
	streamCh chan net.Conn
	closing  chan struct{}  // closed first in Shutdown: stop passing things on
	done     chan struct{}  // closed once the inner transport is down
	wg       sync.WaitGroup // forwarders and pending delayed writes

	mu      sync.Mutex
	rng     *rand.Rand
	delay   time.Duration
	jitter  time.Duration
	loss    float64
	blocked map[string]bool
	timers  map[uint64]*time.Timer
	timerID uint64
	closed  bool

	shutdownOnce sync.Once
	shutdownErr  error
	dropped      atomic.Uint64
}

var _ memberlist.NodeAwareTransport = (*FaultTransport)(nil)

// NewFaultTransport wraps inner, with no faults until told otherwise. It
// starts two goroutines that forward inbound packets and streams (so
// partitions can filter them); Shutdown stops them.
func NewFaultTransport(inner memberlist.NodeAwareTransport, seed uint64) *FaultTransport {
	t := &FaultTransport{
		inner:    inner,
		packetCh: make(chan *memberlist.Packet),
		streamCh: make(chan net.Conn),
		closing:  make(chan struct{}),
		done:     make(chan struct{}),
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		blocked:  make(map[string]bool),
		timers:   make(map[uint64]*time.Timer),
	}
	t.wg.Add(2)
	go t.forwardPackets()
	go t.forwardStreams()
	return t
}

// SetDelay delays every outgoing packet and dial by d (negative means 0).
func (t *FaultTransport) SetDelay(d time.Duration) {
	t.mu.Lock()
	t.delay = max(d, 0)
	t.mu.Unlock()
}

// SetJitter adds a uniformly random extra delay in [0, j) to each outgoing
// packet, which also reorders them.
func (t *FaultTransport) SetJitter(j time.Duration) {
	t.mu.Lock()
	t.jitter = max(j, 0)
	t.mu.Unlock()
}

// SetLoss drops each outgoing packet with probability p, clamped to [0, 1].
func (t *FaultTransport) SetLoss(p float64) {
	t.mu.Lock()
	t.loss = min(max(p, 0), 1)
	t.mu.Unlock()
}

// Partition drops all packets to and from the given addresses ("ip:port",
// as in Node.LocalAddr) and fails dials to them, in addition to any already
// partitioned.
func (t *FaultTransport) Partition(addrs ...string) {
	t.mu.Lock()
	for _, a := range addrs {
		t.blocked[a] = true
	}
	t.mu.Unlock()
}

// Heal removes every partition.
func (t *FaultTransport) Heal() {
	t.mu.Lock()
	clear(t.blocked)
	t.mu.Unlock()
}

// Dropped returns how many packets and streams the faults dropped.
func (t *FaultTransport) Dropped() uint64 { return t.dropped.Load() }

func (t *FaultTransport) isBlocked(addr string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.blocked[addr]
}

// FinalAdvertiseAddr implements memberlist.Transport.
func (t *FaultTransport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	return t.inner.FinalAdvertiseAddr(ip, port)
}

// WriteTo implements memberlist.Transport.
func (t *FaultTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

// WriteToAddress implements memberlist.NodeAwareTransport: it drops,
// delays or passes the packet. A dropped packet reports success, as a lossy
// network would.
func (t *FaultTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	now := time.Now()
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return now, fmt.Errorf("gossip: fault transport: %w", ErrClosed)
	}
	if t.blocked[a.Addr] || t.loss > 0 && t.rng.Float64() < t.loss {
		t.mu.Unlock()
		t.dropped.Add(1)
		return now, nil
	}
	d := t.delay
	if t.jitter > 0 {
		d += time.Duration(t.rng.Int64N(int64(t.jitter)))
	}
	if d <= 0 {
		t.mu.Unlock()
		return t.inner.WriteToAddress(b, a)
	}
	// Send later without holding up memberlist's caller; copy the buffer,
	// which the caller may reuse once we return.
	buf := append([]byte(nil), b...)
	id := t.timerID
	t.timerID++
	t.wg.Add(1)
	t.timers[id] = time.AfterFunc(d, func() {
		defer t.wg.Done()
		t.mu.Lock()
		delete(t.timers, id)
		skip := t.closed || t.blocked[a.Addr]
		t.mu.Unlock()
		if skip {
			t.dropped.Add(1)
			return
		}
		_, _ = t.inner.WriteToAddress(buf, a)
	})
	t.mu.Unlock()
	return now, nil
}

// DialTimeout implements memberlist.Transport.
func (t *FaultTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// DialAddressTimeout implements memberlist.NodeAwareTransport: a dial to a
// partitioned address fails, others wait out the delay first.
func (t *FaultTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	if t.isBlocked(a.Addr) {
		t.dropped.Add(1)
		return nil, fmt.Errorf("dial %s: %w", a.Addr, ErrPartitioned)
	}
	t.mu.Lock()
	d := t.delay
	t.mu.Unlock()
	if d > 0 {
		if timeout > 0 && d >= timeout {
			d = timeout
		}
		timer := time.NewTimer(d)
		select {
		case <-timer.C:
		case <-t.closing:
			timer.Stop()
			return nil, fmt.Errorf("dial %s: %w", a.Addr, ErrClosed)
		}
		if timeout > 0 && d == timeout {
			return nil, fmt.Errorf("dial %s: injected delay exceeds timeout %v", a.Addr, timeout)
		}
		timeout -= d
	}
	return t.inner.DialAddressTimeout(a, timeout)
}

// PacketCh implements memberlist.Transport.
func (t *FaultTransport) PacketCh() <-chan *memberlist.Packet { return t.packetCh }

// StreamCh implements memberlist.Transport.
func (t *FaultTransport) StreamCh() <-chan net.Conn { return t.streamCh }

// forwardPackets passes inbound packets on, dropping those from
// partitioned addresses.
func (t *FaultTransport) forwardPackets() {
	defer t.wg.Done()
	in := t.inner.PacketCh()
	for {
		select {
		case <-t.done:
			return
		case p, ok := <-in:
			if !ok {
				return
			}
			if p.From != nil && t.isBlocked(p.From.String()) {
				t.dropped.Add(1)
				continue
			}
			select {
			case t.packetCh <- p:
			case <-t.closing:
				// Keep draining until the inner transport is down: its
				// listener blocks on an unread channel and would never
				// see its socket close.
			}
		}
	}
}

// forwardStreams passes inbound streams on, closing those from
// partitioned addresses (which only matches when peers dial from their
// gossip address; see the type's comment).
func (t *FaultTransport) forwardStreams() {
	defer t.wg.Done()
	in := t.inner.StreamCh()
	for {
		select {
		case <-t.done:
			return
		case c, ok := <-in:
			if !ok {
				return
			}
			if c.RemoteAddr() != nil && t.isBlocked(c.RemoteAddr().String()) {
				t.dropped.Add(1)
				_ = c.Close()
				continue
			}
			select {
			case t.streamCh <- c:
			case <-t.closing:
				_ = c.Close()
			}
		}
	}
}

// Shutdown implements memberlist.Transport: it cancels pending delayed
// packets, shuts the inner transport down (draining what it still
// delivers, so its listeners can exit even when nobody reads this
// transport any more) and waits for its own goroutines. It is idempotent.
func (t *FaultTransport) Shutdown() error {
	t.shutdownOnce.Do(func() {
		t.mu.Lock()
		t.closed = true
		for id, tm := range t.timers {
			if tm.Stop() {
				t.wg.Done() // its callback will never run
			}
			delete(t.timers, id)
		}
		t.mu.Unlock()
		close(t.closing)
		t.shutdownErr = t.inner.Shutdown()
		close(t.done)
		t.wg.Wait()
	})
	return t.shutdownErr
}
