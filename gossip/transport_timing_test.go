package gossip

import (
	"io"
	"log"
	"net"
	"strconv"
	"testing"

	"github.com/hashicorp/memberlist"
)

// BenchmarkReceivePacket compares the receive path's cost per packet of a
// typical gossip size (300 bytes) for memberlist's NetTransport and
// packetTransport: B/op shows the 64 KiB buffer NetTransport allocates per
// packet.
//
//	go test -run '^$' -bench ReceivePacket -benchmem ./gossip/
func BenchmarkReceivePacket(b *testing.B) {
	msg := make([]byte, 300)
	run := func(b *testing.B, recv memberlist.Transport, port int) {
		send := newTestTransport(b)
		dst := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if _, err := send.WriteTo(msg, dst); err != nil {
				b.Fatal(err)
			}
			<-recv.PacketCh()
		}
	}
	b.Run("memberlist.NetTransport", func(b *testing.B) {
		nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
			BindAddrs: []string{"127.0.0.1"}, Logger: log.New(io.Discard, "", 0)})
		if err != nil {
			b.Fatal(err)
		}
		defer nt.Shutdown()
		run(b, nt, nt.GetAutoBindPort())
	})
	b.Run("packetTransport", func(b *testing.B) {
		pt := newTestTransport(b)
		run(b, pt, pt.Port())
	})
}
