package gossip

import (
	"errors"
	"fmt"
	"log"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-sockaddr"
	"github.com/hashicorp/memberlist"
)

// packetTransport is memberlist's NetTransport with one change that
// matters at write rates: NetTransport reads every UDP packet into a fresh
// 64 KiB buffer, so each received packet (a few hundred bytes of
// invalidations) costs a 64 KiB allocation and its zeroing: measured at
// about 19 us of CPU per write per edge, half the receive cost. Here one
// read buffer per listener is reused and each packet is copied out at its
// own size (memberlist keeps the slice it is given, so it must be a copy).
// Addresses of peers are parsed without the resolver for the IP:port form
// memberlist always uses.
type packetTransport struct {
	bindIP   net.IP
	tcp      *net.TCPListener
	udp      *net.UDPConn
	packetCh chan *memberlist.Packet
	streamCh chan net.Conn
	logger   *log.Logger

	shutdown atomic.Bool
	wg       sync.WaitGroup
}

var _ memberlist.NodeAwareTransport = (*packetTransport)(nil)

// maxUDPPacket is the largest UDP payload; one buffer of it per listener.
const maxUDPPacket = 65536

// udpRecvBuf is the socket receive buffer asked for (halved until the
// kernel accepts), as memberlist does: bursts of gossip must not overflow it.
const udpRecvBuf = 2 * 1024 * 1024

// newPacketTransport listens on TCP and UDP at the same ip:port; port 0
// picks a free TCP port and uses it for UDP too.
func newPacketTransport(bindAddr string, port int, logger *log.Logger) (*packetTransport, error) {
	ip := net.ParseIP(bindAddr)
	if ip == nil {
		return nil, fmt.Errorf("bind address %q is not an IP", bindAddr)
	}
	tcp, err := net.ListenTCP("tcp", &net.TCPAddr{IP: ip, Port: port})
	if err != nil {
		return nil, err
	}
	port = tcp.Addr().(*net.TCPAddr).Port
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port})
	if err != nil {
		_ = tcp.Close()
		return nil, err
	}
	for size := udpRecvBuf; size > 0; size /= 2 {
		if udp.SetReadBuffer(size) == nil {
			break
		}
	}
	t := &packetTransport{
		bindIP:   ip,
		tcp:      tcp,
		udp:      udp,
		packetCh: make(chan *memberlist.Packet),
		streamCh: make(chan net.Conn),
		logger:   logger,
	}
	t.wg.Add(2)
	go t.tcpLoop()
	go t.udpLoop()
	return t, nil
}

// Port is the bound port (the chosen one when asked for 0).
func (t *packetTransport) Port() int { return t.tcp.Addr().(*net.TCPAddr).Port }

// FinalAdvertiseAddr implements memberlist.Transport like NetTransport:
// the given address, else the bound one, else (bound to 0.0.0.0) a
// private IP of this host.
func (t *packetTransport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	if ip != "" {
		a := net.ParseIP(ip)
		if a == nil {
			return nil, 0, fmt.Errorf("failed to parse advertise address %q", ip)
		}
		if a4 := a.To4(); a4 != nil {
			a = a4
		}
		return a, port, nil
	}
	if t.bindIP.IsUnspecified() {
		priv, err := sockaddr.GetPrivateIP()
		if err != nil {
			return nil, 0, fmt.Errorf("failed to get interface addresses: %w", err)
		}
		a := net.ParseIP(priv)
		if a == nil {
			return nil, 0, errors.New("no private IP address found, and explicit IP not provided")
		}
		return a, t.Port(), nil
	}
	return t.tcp.Addr().(*net.TCPAddr).IP, t.Port(), nil
}

// WriteTo implements memberlist.Transport.
func (t *packetTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

// WriteToAddress implements memberlist.NodeAwareTransport.
func (t *packetTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	ap, err := netip.ParseAddrPort(a.Addr)
	if err != nil {
		// A host name: memberlist resolves Join addresses itself, so this
		// is rare; fall back to the resolver.
		ua, rerr := net.ResolveUDPAddr("udp", a.Addr)
		if rerr != nil {
			return time.Time{}, rerr
		}
		ap = ua.AddrPort()
	}
	_, err = t.udp.WriteToUDPAddrPort(b, ap)
	return time.Now(), err
}

// PacketCh implements memberlist.Transport.
func (t *packetTransport) PacketCh() <-chan *memberlist.Packet { return t.packetCh }

// DialTimeout implements memberlist.Transport.
func (t *packetTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return net.DialTimeout("tcp", addr, timeout)
}

// DialAddressTimeout implements memberlist.NodeAwareTransport.
func (t *packetTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	return t.DialTimeout(a.Addr, timeout)
}

// StreamCh implements memberlist.Transport.
func (t *packetTransport) StreamCh() <-chan net.Conn { return t.streamCh }

// Shutdown implements memberlist.Transport: it closes the listeners and
// waits for both loops. memberlist has stopped reading the channels by
// then, so the loops must not block on them: they check shutdown first
// and drop what they hold.
func (t *packetTransport) Shutdown() error {
	if t.shutdown.Swap(true) {
		return nil
	}
	_ = t.tcp.Close()
	_ = t.udp.Close()
	t.wg.Wait()
	return nil
}

func (t *packetTransport) tcpLoop() {
	defer t.wg.Done()
	const maxDelay = time.Second
	var delay time.Duration
	for {
		conn, err := t.tcp.AcceptTCP()
		if err != nil {
			if t.shutdown.Load() {
				return
			}
			// Back off on errors like EMFILE, as NetTransport does.
			delay = min(max(2*delay, 5*time.Millisecond), maxDelay)
			t.logger.Printf("[ERR] memberlist: Error accepting TCP connection: %v", err)
			time.Sleep(delay)
			continue
		}
		delay = 0
		t.streamCh <- conn
	}
}

func (t *packetTransport) udpLoop() {
	defer t.wg.Done()
	buf := make([]byte, maxUDPPacket)
	for {
		n, addr, err := t.udp.ReadFromUDPAddrPort(buf)
		ts := time.Now()
		if err != nil {
			if t.shutdown.Load() {
				return
			}
			t.logger.Printf("[ERR] memberlist: Error reading UDP packet: %v", err)
			continue
		}
		if n < 1 {
			continue
		}
		// memberlist holds on to Buf (queued user messages are handled
		// later), so it gets its own copy, sized to the packet.
		p := make([]byte, n)
		copy(p, buf[:n])
		t.packetCh <- &memberlist.Packet{
			Buf:       p,
			From:      net.UDPAddrFromAddrPort(addr),
			Timestamp: ts,
		}
	}
}
