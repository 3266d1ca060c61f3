package gossip

import (
	"bytes"
	"io"
	"log"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

func newTestTransport(t testing.TB) *packetTransport {
	t.Helper()
	tr, err := newPacketTransport("127.0.0.1", 0, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Shutdown() })
	return tr
}

func recvPacket(t testing.TB, tr *packetTransport) *memberlist.Packet {
	t.Helper()
	select {
	case p := <-tr.PacketCh():
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no packet within 5 s on loopback")
		return nil
	}
}

// Every packet arrives whole, in a buffer of its own: memberlist keeps the
// slice it is handed (queued user messages), so a later packet must not
// overwrite an earlier one, which reusing the read buffer without the copy
// would do.
func TestPacketTransportCopiesEachPacket(t *testing.T) {
	a, b := newTestTransport(t), newTestTransport(t)
	dst := net.JoinHostPort("127.0.0.1", itoa(b.Port()))
	sizes := []int{1, 100, 1400, 9000, 60000}
	var got []*memberlist.Packet
	for i, n := range sizes {
		msg := bytes.Repeat([]byte{byte('a' + i)}, n)
		if _, err := a.WriteTo(msg, dst); err != nil {
			t.Fatal(err)
		}
		got = append(got, recvPacket(t, b))
	}
	for i, p := range got {
		want := bytes.Repeat([]byte{byte('a' + i)}, sizes[i])
		if !bytes.Equal(p.Buf, want) {
			t.Fatalf("packet %d (%d bytes): content changed or cut (len %d)", i, sizes[i], len(p.Buf))
		}
		if cap(p.Buf) != sizes[i] {
			t.Fatalf("packet %d: buffer cap %d, want its size %d (no 64 KiB buffer per packet)", i, cap(p.Buf), sizes[i])
		}
		if p.From.String() != net.JoinHostPort("127.0.0.1", itoa(a.Port())) {
			t.Fatalf("packet %d from %s, want the sender's address", i, p.From)
		}
	}
}

// Streams reach StreamCh, dialled by address; the advertise address is the
// bound one unless given.
func TestPacketTransportStreamsAndAdvertise(t *testing.T) {
	a, b := newTestTransport(t), newTestTransport(t)
	conn, err := a.DialAddressTimeout(memberlist.Address{Addr: net.JoinHostPort("127.0.0.1", itoa(b.Port()))}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	select {
	case in := <-b.StreamCh():
		_ = in.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("no stream within 5 s on loopback")
	}
	ip, port, err := b.FinalAdvertiseAddr("", 0)
	if err != nil || !ip.Equal(net.ParseIP("127.0.0.1")) || port != b.Port() {
		t.Fatalf("advertise = %v:%d %v, want 127.0.0.1:%d", ip, port, err, b.Port())
	}
	ip, port, err = b.FinalAdvertiseAddr("10.1.2.3", 7946)
	if err != nil || !ip.Equal(net.ParseIP("10.1.2.3")) || port != 7946 {
		t.Fatalf("advertise = %v:%d %v, want the given 10.1.2.3:7946", ip, port, err)
	}
	if _, _, err := b.FinalAdvertiseAddr("not-an-ip", 1); err == nil {
		t.Fatal("a bad advertise address was accepted")
	}
}

// Shutdown returns with loops stopped and is idempotent.
func TestPacketTransportShutdown(t *testing.T) {
	tr, err := newPacketTransport("127.0.0.1", 0, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Shutdown(); err != nil {
		t.Fatal(err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
