package testutil

import (
	"net"
	"testing"
)

// FreeAddr returns a loopback TCP address that was free a moment ago.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// FreeGossipAddr returns a loopback port free for both TCP and UDP, as
// memberlist binds both.
func FreeGossipAddr(tb testing.TB) string {
	tb.Helper()
	for range 20 {
		addr := FreeAddr(tb)
		if pc, err := net.ListenPacket("udp", addr); err == nil {
			pc.Close()
			return addr
		}
	}
	tb.Fatal("no port free for both TCP and UDP")
	return ""
}
